"""The ``inferwatch`` command: one module per command; ``main`` parses and dispatches.

Each command module adds its subcommands (:func:`streams.cli.command.add_command`) and
holds their handlers. Every command's module is imported to build the parser, so each
imports its clients (Kafka, HTTP, ClickHouse) and heavy pieces where its handler runs:
``inferwatch --help`` and every command start without the others' dependencies.

The top floor, above :mod:`streams.app` (the worker command starts the app): may import
every folder.
"""
