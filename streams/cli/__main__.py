"""``python -m streams.cli``: the same as the ``inferwatch`` console script."""

from streams.cli.main import main

if __name__ == "__main__":
    main()
