"""The import order of the packages: the one place the layers of ``streams/`` are written.

Every ``import`` of ``streams/``, ``detectors/``, ``inference/`` and ``retrain/`` is read
with :mod:`ast` (those inside functions and under ``TYPE_CHECKING`` too, and literal
``importlib.import_module("...")`` calls) and held against the rules below. A failure
names the file, the line, the import and the rule it breaks. The second test plants a
violation in a tree of its own, so a checker that has gone blind cannot pass unnoticed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: our packages, and which of ours each may import besides itself: detectors/ nothing,
#: inference/ and retrain/ never streams/ (retrain/ trains what inference/ serves, so it
#: may import inference/, and not the other way round)
OURS: dict[str, frozenset[str]] = {
    "detectors": frozenset(),
    "inference": frozenset({"detectors"}),
    "retrain": frozenset({"detectors", "inference"}),
    "streams": frozenset({"detectors", "inference", "retrain"}),
}

#: the layers of ``streams/``, numbered from the ground up (docs/DESIGN.md, "Inside
#: ``streams/``"): a folder imports only folders on lower-numbered lines, and folders on
#: one line do not import each other
LAYERS: dict[str, int] = {
    "wire": 1, "telemetry": 1,
    "experiments": 2,
    "settings": 3,
    "kafka": 4,
    "serving": 5, "storage": 5, "alerting": 5, "health": 5, "simulation": 5,
    "monitoring": 6, "retraining": 6,
    "decision": 7,
    # the backtest replays through decision/; the report does not read it, nor it the report
    "report": 8, "backtest": 8,
    "app": 9,
    # the command line starts the worker the composition root builds
    "cli": 10,
}

#: modules of ``streams/`` that every module of ``streams/`` may import, and that import
#: nothing of ``streams/`` themselves: the one exceptions module, the empty package root,
#: and the package data (SQL migrations, dashboards; read with importlib.resources)
GROUND: frozenset[str] = frozenset({"errors", "", "resources"})

#: third-party packages that only some of our packages may import (docs/STYLE.md, 8)
CONFINED: dict[str, frozenset[str]] = {
    "faust": frozenset({"streams"}),
    "aiokafka": frozenset({"streams"}),
    "torch": frozenset({"inference", "retrain"}),
}


@dataclass(frozen=True)
class Import:
    """One import in one file: the module it names and where it stands."""

    path: Path
    line: int
    target: str
    text: str


def modules(root: Path) -> dict[str, Path]:
    """Every module of our packages under ``root``, by dotted name."""
    found = {}
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The modules ``path`` imports, wherever the statement stands in it."""
    source = path.read_text(encoding="utf-8")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, filename=str(path))):
        targets = _targets(node, package, known)
        if targets:
            text = " ".join((ast.get_source_segment(source, node) or "").split())
            for target in targets:
                yield Import(path, node.lineno, target, text)


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> list[str]:
    """The modules one statement imports (none if it is not an import), each once."""
    if isinstance(node, ast.Import):
        return list(dict.fromkeys(alias.name for alias in node.names))
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            up = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*up, base] if base else up)
        # ``from streams import settings`` imports the module streams.settings
        subs = (f"{base}.{alias.name}" for alias in node.names)
        return list(dict.fromkeys(sub if sub in known else base for sub in subs))
    if (isinstance(node, ast.Call) and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and (getattr(node.func, "attr", None) == "import_module"
                 or getattr(node.func, "id", None) == "import_module")):
        return [node.args[0].value]
    return []


def _place(name: str) -> str:
    """The folder (or top-level module) of ``streams/`` that a module lies in."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _where(place: str) -> str:
    """How a message names a place of ``streams/``."""
    if place in GROUND:
        return {"": "streams/__init__.py", "errors": "streams/errors.py"}.get(
            place, f"streams/{place}/")
    return "app.py" if place == "app" else f"{place}/ (line {LAYERS[place]})"


def broken_rule(importer: str, target: str) -> str | None:
    """The rule that ``importer`` importing ``target`` breaks, or None if it keeps them all."""
    own, top = importer.split(".")[0], target.split(".")[0]
    if top in CONFINED and own not in CONFINED[top]:
        homes = " and ".join(f"{p}/" for p in sorted(CONFINED[top]))
        return f"only {homes} may import {top}"
    if top not in OURS:
        return None
    if top != own and top not in OURS[own]:
        allowed = " and ".join(f"{p}/" for p in sorted(OURS[own]))
        return (f"{own}/ imports only {allowed} of ours" if allowed
                else f"{own}/ imports nothing of ours")
    if own != "streams" or top != "streams":
        return None
    mine, theirs = _place(importer), _place(target)
    if mine == theirs or theirs in GROUND:
        return None
    if theirs not in LAYERS:
        return f"streams.{theirs} is in no layer of streams/"
    if mine in GROUND:
        return f"{_where(mine)} imports nothing of streams/ (all of streams/ may " \
               "import it)"
    if LAYERS[mine] == LAYERS[theirs]:
        return (f"{_where(mine)} and {_where(theirs)} lie on one line: they "
                "do not import each other")
    if LAYERS[mine] < LAYERS[theirs]:
        return (f"{_where(mine)} imports only folders on lower-numbered lines, "
                f"not {_where(theirs)}")
    return None


def _misplaced(name: str, path: Path, root: Path) -> str | None:
    """Why a module of ``streams/`` stands where no layer is, or None."""
    if name.split(".")[0] != "streams":
        return None
    place = _place(name)
    if place in LAYERS or place in GROUND:
        return None
    rel = path.relative_to(root)
    if len(rel.parts) == 2:
        return (f"{rel}: a top-level module of streams/ (only app.py and errors.py may stand "
                "there); move it into the folder of its stage")
    return f"{rel}: streams/{place}/ is in no layer of streams/ (add it to LAYERS, or move it)"


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that runs against the order, one message each."""
    known = modules(root)
    found = []
    for name, path in known.items():
        if (where := _misplaced(name, path, root)) is not None:
            found.append(where)
            continue
        for imp in imports(name, path, known):
            if (rule := broken_rule(name, imp.target)) is not None:
                found.append(f"{imp.path.relative_to(root)}:{imp.line}: `{imp.text}` "
                             f"breaks the rule: {rule}")
    return found


def test_imports_keep_the_layer_order() -> None:
    found = violations(ROOT)
    assert not found, "imports against the layer order:\n" + "\n".join(found)


def test_the_checker_finds_a_planted_violation(tmp_path: Path) -> None:
    def plant(rel: str, text: str = "") -> None:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    for package in OURS:
        plant(f"{package}/__init__.py")
    for rel in ("streams/wire/__init__.py", "streams/decision/__init__.py",
                "streams/decision/judge.py"):
        plant(rel)
    plant("streams/decision/verdict.py",
          "from streams.wire import codec\nfrom streams import errors\n")
    plant("streams/wire/codec.py",
          "from streams import errors\n\ndef late():\n    from streams.decision import judge\n")
    plant("streams/wire/topics.py", "from . import codec\nfrom ..decision import judge\n")
    plant("detectors/window.py",
          "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import streams.errors\n")
    plant("inference/torch_use.py", "import torch\nimport aiokafka.structs\n")
    plant("streams/telemetry/readiness.py", "import streams.wire.codec\n")
    plant("streams/errors.py", "import importlib\nimportlib.import_module('streams.wire')\n")
    plant("streams/utc_time.py")
    plant("streams/misc/thing.py")

    assert sorted(violations(tmp_path)) == sorted([
        "streams/wire/codec.py:4: `from streams.decision import judge` breaks the rule: "
        "wire/ (line 1) imports only folders on lower-numbered lines, not decision/ (line 7)",
        "streams/wire/topics.py:2: `from ..decision import judge` breaks the rule: "
        "wire/ (line 1) imports only folders on lower-numbered lines, not decision/ (line 7)",
        "detectors/window.py:3: `import streams.errors` breaks the rule: "
        "detectors/ imports nothing of ours",
        "streams/telemetry/readiness.py:1: `import streams.wire.codec` breaks the rule: "
        "telemetry/ (line 1) and wire/ (line 1) lie on one line: they do not import each other",
        "streams/errors.py:2: `importlib.import_module('streams.wire')` breaks the rule: "
        "streams/errors.py imports nothing of streams/ (all of streams/ may import it)",
        "inference/torch_use.py:2: `import aiokafka.structs` breaks the rule: "
        "only streams/ may import aiokafka",
        "streams/utc_time.py: a top-level module of streams/ (only app.py and errors.py may "
        "stand there); move it into the folder of its stage",
        "streams/misc/thing.py: streams/misc/ is in no layer of streams/ (add it to LAYERS, "
        "or move it)",
    ])
