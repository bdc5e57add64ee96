"""What a model version is: ``model.json``, the spec beside the user's artifact.

Serving, publishing, monitoring, validation and retraining read the spec; none of them
assumes the demo's MLP. The spec names:

- ``kind``: how the artifact loads (:data:`ARTIFACT_KINDS`; :mod:`inference.loaders` has
  one module per kind, with what each needs in the folder);
- ``task``: ``binary``, ``multiclass`` or ``regression``;
- ``inputs``, in order: numeric features, categorical features with their vocabulary,
  and at most one text field;
- ``classes``: the class names, in the order of the output columns (none for a regression).

How a category becomes a tensor is the spec's business, not the model's: a category is
its index in the vocabulary, and the model receives an ``int64`` column per categorical
input. A request that lacks an input, or carries a category outside the vocabulary,
gets the input's ``default`` when the spec names one; otherwise it is answered with an
error (counted against the error SLO), never a crash and never a silent zero.

Examples
--------
>>> spec = ModelSpec.from_dict({
...     "kind": "torchscript", "task": "binary", "classes": ["stay", "churn"],
...     "inputs": {"numeric": [{"name": "tenure"}, {"name": "spend", "default": 0.0}],
...                "categorical": [{"name": "plan", "vocabulary": ["free", "pro"],
...                                 "default": "free"}]}})
>>> spec.feature_names, spec.categorical[0].code("pro"), spec.n_outputs
(('tenure', 'spend'), 1, 2)
>>> ModelSpec.from_dict(spec.to_dict()) == spec
True
>>> ModelSpec.from_dict({"kind": "onnx", "task": "binary", "classes": ["a", "b"]})
Traceback (most recent call last):
...
inference.model_spec.SpecError: model.json: kind must be one of torchscript, export, \
transformers, entrypoint, mlp; got 'onnx'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

__all__ = [
    "ARTIFACT_KINDS",
    "SPEC_FILE",
    "TASKS",
    "CategoricalInput",
    "ModelSpec",
    "NumericInput",
    "SpecError",
    "TextInput",
]

#: the spec's file name inside a version folder
SPEC_FILE: Final = "model.json"
#: the spec's own format, so a later release can read an older spec
SPEC_FORMAT: Final = 1
Kind = Literal["torchscript", "export", "transformers", "entrypoint", "mlp"]
Task = Literal["binary", "multiclass", "regression"]
ARTIFACT_KINDS: Final[tuple[Kind, ...]] = (
    "torchscript", "export", "transformers", "entrypoint", "mlp")
TASKS: Final[tuple[Task, ...]] = ("binary", "multiclass", "regression")
#: the artifact's file (or folder) in the version folder, when the spec names none
DEFAULT_ARTIFACT: Final[dict[str, str]] = {
    "torchscript": "model.ts", "export": "model.pt2", "transformers": "hf",
    "entrypoint": "weights.pt", "mlp": "model.pt"}


class SpecError(ValueError):
    """A model spec that cannot be served; the message names the field and what to do."""


@dataclass(frozen=True)
class NumericInput:
    """A numeric feature; ``default`` stands in when a request lacks it (None: an error)."""

    name: str
    default: float | None = None


@dataclass(frozen=True)
class CategoricalInput:
    """A categorical feature: its value becomes its index in ``vocabulary`` (int64).

    ``default``, a member of the vocabulary, stands in for a missing value and for one
    outside the vocabulary; without it such a request is answered with an error.
    """

    name: str
    vocabulary: tuple[str, ...]
    default: str | None = None

    def code(self, value: str) -> int:
        """The index of ``value`` in the vocabulary; ValueError when it is not there."""
        return self.vocabulary.index(value)


@dataclass(frozen=True)
class TextInput:
    """The text field of a request (``InferenceRequest.text``), tokenised by the model's
    tokenizer; ``default`` stands in when a request has none (None: an error)."""

    name: str
    default: str | None = None
    max_length: int = 128


@dataclass(frozen=True)
class ModelSpec:
    """The spec of one model version (see the module docstring).

    Attributes
    ----------
    kind, task
        How the artifact loads, and what the model answers.
    numeric, categorical, text
        The inputs, in the order the model takes them.
    classes
        The names of the output columns (a classifier's); empty for a regression.
    artifact
        The artifact's path inside the version folder.
    entrypoint
        ``package.module:factory`` for kind ``entrypoint`` (the factory is called with the
        version folder and returns an ``nn.Module`` or a callable over tensors).
    outputs
        ``logits`` (softmax is applied) or ``probabilities`` (rows already sum to 1).
    """

    kind: Kind
    task: Task
    numeric: tuple[NumericInput, ...] = ()
    categorical: tuple[CategoricalInput, ...] = ()
    text: TextInput | None = None
    classes: tuple[str, ...] = ()
    artifact: str = ""
    entrypoint: str | None = None
    outputs: Literal["logits", "probabilities"] = "logits"
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The numeric inputs' names, in order (the columns of the numeric matrix)."""
        return tuple(i.name for i in self.numeric)

    @property
    def categorical_names(self) -> tuple[str, ...]:
        """The categorical inputs' names, in order."""
        return tuple(i.name for i in self.categorical)

    @property
    def n_outputs(self) -> int:
        """Output columns the model must give: the classes, or 1 for a regression."""
        return 1 if self.task == "regression" else len(self.classes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = SPEC_FILE) -> ModelSpec:
        """Read and check a spec; SpecError names the field (``where`` prefixes it)."""
        return _parse(data, where)

    def to_dict(self) -> dict[str, Any]:
        """The spec as ``model.json`` holds it."""
        inputs: dict[str, Any] = {
            "numeric": [_drop_none({"name": i.name, "default": i.default})
                        for i in self.numeric],
            "categorical": [_drop_none({"name": i.name, "vocabulary": list(i.vocabulary),
                                        "default": i.default}) for i in self.categorical]}
        if self.text is not None:
            inputs["text"] = _drop_none({"name": self.text.name, "default": self.text.default,
                                         "max_length": self.text.max_length})
        return _drop_none({
            "format": SPEC_FORMAT, "kind": self.kind, "task": self.task, "inputs": inputs,
            "classes": list(self.classes), "artifact": self.artifact,
            "entrypoint": self.entrypoint, "outputs": self.outputs, **dict(self.extra)})

    def save(self, folder: Path) -> Path:
        """Write ``model.json`` into ``folder``; returns its path."""
        path = Path(folder) / SPEC_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelSpec:
        """Read ``folder/model.json``; SpecError when it is missing or not a valid spec."""
        path = Path(folder) / SPEC_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise SpecError(f"{path} is missing: a model version needs a {SPEC_FILE} "
                            "naming its kind, task, inputs and classes") from None
        except json.JSONDecodeError as exc:
            raise SpecError(f"{path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path} must hold a JSON object, got {type(data).__name__}")
        return cls.from_dict(data, where=str(path))


_KNOWN = {"format", "kind", "task", "inputs", "classes", "artifact", "entrypoint", "outputs"}


def _parse(data: Mapping[str, Any], where: str) -> ModelSpec:
    def fail(name: str, message: str) -> SpecError:
        return SpecError(f"{where}: {name} {message}")

    fmt = data.get("format", SPEC_FORMAT)
    if fmt != SPEC_FORMAT:
        raise fail("format", f"must be {SPEC_FORMAT} (this release reads that), got {fmt!r}")
    kind = data.get("kind")
    if kind not in ARTIFACT_KINDS:
        raise fail("kind", f"must be one of {', '.join(ARTIFACT_KINDS)}; got {kind!r}")
    task = data.get("task")
    if task not in TASKS:
        raise fail("task", f"must be one of {', '.join(TASKS)}; got {task!r}")
    inputs = data.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise fail("inputs", "must be an object with numeric, categorical and text")
    numbers = _list(inputs.get("numeric", []), "inputs.numeric", fail)
    numeric = tuple(_numeric(x, f"inputs.numeric[{i}]", fail) for i, x in enumerate(numbers))
    categorical = tuple(
        _categorical(x, f"inputs.categorical[{i}]", fail)
        for i, x in enumerate(_list(inputs.get("categorical", []), "inputs.categorical", fail)))
    text = _text(inputs["text"], fail) if inputs.get("text") is not None else None
    names = [i.name for i in numeric] + [i.name for i in categorical] + (
        [text.name] if text else [])
    if not names:
        raise fail("inputs", "must name at least one input (numeric, categorical or text)")
    if len(set(names)) < len(names):
        raise fail("inputs", f"must not name an input twice: {names}")
    classes = tuple(str(c) for c in _list(data.get("classes", []), "classes", fail))
    if task == "regression" and classes:
        raise fail("classes", "must be empty for a regression (its output is one value)")
    if task == "binary" and len(classes) != 2:
        raise fail("classes", f"must name 2 classes for a binary task, got {list(classes)}")
    if task == "multiclass" and len(classes) < 3:
        raise fail("classes", f"must name 3 or more classes for a multiclass task "
                              f"(2 is binary), got {list(classes)}")
    entrypoint = data.get("entrypoint")
    if kind == "entrypoint" and not (isinstance(entrypoint, str) and ":" in entrypoint):
        raise fail("entrypoint", f"must be 'package.module:factory' for kind entrypoint, "
                                 f"got {entrypoint!r}")
    outputs = data.get("outputs", "logits")
    if outputs not in ("logits", "probabilities"):
        raise fail("outputs", f"must be 'logits' or 'probabilities', got {outputs!r}")
    artifact = data.get("artifact") or DEFAULT_ARTIFACT[kind]
    if not isinstance(artifact, str) or artifact.startswith("/") or ".." in artifact:
        raise fail("artifact", f"must be a path inside the version folder, got {artifact!r}")
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    return ModelSpec(kind=cast(Kind, kind), task=cast(Task, task), numeric=numeric,
                     categorical=categorical, text=text, classes=classes, artifact=artifact,
                     entrypoint=entrypoint, outputs=outputs, extra=extra)


def _list(value: Any, name: str, fail: Any) -> Sequence[Any]:
    if isinstance(value, list):
        return value
    raise fail(name, f"must be a list, got {type(value).__name__}")


def _name(item: Any, where: str, fail: Any) -> str:
    if not isinstance(item, Mapping):
        raise fail(where, f"must be an object with a name, got {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not name or not name.isprintable():
        raise fail(f"{where}.name", f"must be a non-empty printable string, got {name!r}")
    return name


def _numeric(item: Any, where: str, fail: Any) -> NumericInput:
    name = _name(item, where, fail)
    default = item.get("default")
    if default is not None and not isinstance(default, int | float):
        raise fail(f"{where}.default", f"must be a number, got {default!r}")
    return NumericInput(name, None if default is None else float(default))


def _categorical(item: Any, where: str, fail: Any) -> CategoricalInput:
    name = _name(item, where, fail)
    vocabulary = tuple(str(v) for v in _list(item.get("vocabulary"), f"{where}.vocabulary",
                                             fail))
    if not vocabulary or len(set(vocabulary)) < len(vocabulary):
        raise fail(f"{where}.vocabulary", f"must list distinct categories, got {vocabulary}")
    default = item.get("default")
    if default is not None and default not in vocabulary:
        raise fail(f"{where}.default", f"must be one of the vocabulary {list(vocabulary)}, "
                                       f"got {default!r}")
    return CategoricalInput(name, vocabulary, default)


def _text(item: Any, fail: Any) -> TextInput:
    name = _name(item, "inputs.text", fail)
    default = item.get("default")
    max_length = item.get("max_length", 128)
    if not isinstance(max_length, int) or max_length < 1:
        raise fail("inputs.text.max_length", f"must be a positive integer, got {max_length!r}")
    return TextInput(name, None if default is None else str(default), max_length)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
