"""Kind ``entrypoint``: ``package.module:factory``, the user's own code, for a model the
other kinds cannot carry.

**This runs the user's code**, with the worker's rights: importing the module runs its
top level, and the factory is called with the version folder. Load it only from places
whose code you trust as you trust the worker's: the module is imported from the version
folder in the registry (``<folder>/package/`` or ``<folder>/module.py``, published and
content-hashed with the version) or, when the folder does not ship it, from a package
installed in the worker's environment. Nothing else is read as code.

The factory returns an ``nn.Module`` (set to eval mode and moved to the device) or any
callable over tensors (called with them on the device); either is called as
:mod:`inference.loaders` says (``model(numeric)`` or ``model(numeric, categorical)``).
Its weights are its own business: ``torch.load(path, weights_only=True)`` keeps them
from running code.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from inference.loaders.artifact import tensor_predictor
from inference.model_spec import SPEC_FILE, ModelSpec, SpecError
from inference.spec_predictor import SpecPredictor

__all__ = ["load"]

# sys.path and sys.modules are the process's: one import from a version folder at a time
_IMPORTING = threading.Lock()


def load(folder: Path, spec: ModelSpec, device: str | None) -> SpecPredictor:
    """The model the spec's factory builds for ``folder``, served on ``device``."""
    where = f"{folder / SPEC_FILE}: entrypoint {spec.entrypoint!r}"
    module_name, _, attribute = str(spec.entrypoint).partition(":")
    module = _import(module_name, folder, where)
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise SpecError(f"{where}: {module_name} has no callable {attribute!r}")
    try:
        model = factory(folder)
    except Exception as exc:
        raise SpecError(f"{where}: the factory raised {type(exc).__name__}: {exc}") from exc
    if isinstance(model, nn.Module):
        model = model.eval()
    elif not callable(model):
        raise SpecError(f"{where}: the factory must return an nn.Module or a callable over "
                        f"tensors, got {type(model).__name__}")
    return tensor_predictor(folder, spec, model, device)


def _import(name: str, folder: Path, where: str) -> ModuleType:
    """``name`` from ``folder`` when the folder ships its top package, else installed."""
    top = name.split(".")[0]
    shipped = (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file()
    try:
        if not shipped:
            return importlib.import_module(name)
        with _IMPORTING, _isolated(folder, top):
            return importlib.import_module(name)
    except ImportError as exc:
        raise SpecError(f"{where}: cannot import {name!r} ({exc}); the module must be "
                        f"installed in the worker's environment or shipped in {folder}"
                        ) from exc
    except Exception as exc:
        raise SpecError(f"{where}: importing {name!r} raised {type(exc).__name__}: {exc}"
                        ) from exc


@contextmanager
def _isolated(folder: Path, top: str) -> Iterator[None]:
    """Import ``top`` (and its submodules) from ``folder`` alone, and forget it after.

    Two versions may ship a module of the same name: each must get its own, so the names
    are taken out of ``sys.modules`` for the import and put back after (the loaded
    factory keeps its module alive through its globals).
    """
    def ours(key: str) -> bool:
        return key == top or key.startswith(top + ".")

    saved: dict[str, Any] = {k: sys.modules.pop(k) for k in list(sys.modules) if ours(k)}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for key in [k for k in sys.modules if ours(k)]:
            del sys.modules[key]
        sys.modules.update(saved)
