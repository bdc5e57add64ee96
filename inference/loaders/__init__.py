"""Load a model version folder by its spec, whatever its artifact kind.

:func:`load_version` reads ``model.json`` (:class:`~inference.model_spec.ModelSpec`) and
loads the artifact by its ``kind``, one module a kind:

========================  ===========================================================
kind                      the version folder holds (beside ``model.json``)
========================  ===========================================================
``torchscript``           ``model.ts``, from ``torch.jit.save``
``export``                ``model.pt2``, from ``torch.export.save`` (batch dim dynamic)
``transformers``          ``hf/``: a tokenizer and a sequence-classification model with
                          safetensors weights (``save_pretrained``), read offline
``entrypoint``            what ``package.module:factory`` reads; the package itself when
                          it is not installed (**runs the user's code**, see
                          :mod:`inference.loaders.entrypoint`)
``mlp``                   ``model.pt``, the project's MLP; a folder with ``model.pt``
                          and no ``model.json`` is this kind (releases before specs)
========================  ===========================================================

(``artifact`` in the spec names another path inside the folder.) Loading never unpickles
an arbitrary object: TorchScript and exported programs are not pickles, safetensors hold
tensors only, ``model.pt`` is read with ``torch.load(weights_only=True)``; only an
entrypoint the user named runs code of theirs.

The forward-call convention
---------------------------
A model over tensors (torchscript, export, entrypoint, mlp) is called

- ``model(numeric)`` when the spec has numeric inputs only: ``(n, d)`` float32, columns in
  the spec's order;
- ``model(numeric, categorical)`` when it has categorical inputs: ``categorical`` is
  ``(n, c)`` int64, each a category's index in its vocabulary (``numeric`` is ``(n, 0)``
  when there are none);

a text model (transformers) gets its tokenizer's tensors (``input_ids``,
``attention_mask``, ...) for the spec's text. The model returns, per ``spec.outputs``,
``(n, k)`` logits (softmax is applied) or probabilities, one column a class in the
order of ``spec.classes``; a regression returns ``(n,)`` or ``(n, 1)`` values, served as
:attr:`~inference.predictor.PredictionBatch.values`. Any other shape is a ValueError
naming the shape the spec expects (and fails the load, which scores a warm-up batch).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from inference.loaders import entrypoint, export, hugging_face, mlp, torchscript
from inference.model_spec import SPEC_FILE, ModelSpec
from inference.spec_predictor import SpecPredictor

__all__ = ["LEGACY_ARTIFACT", "load_version"]

#: the artifact of a version folder without a spec (the ``mlp`` kind)
LEGACY_ARTIFACT = "model.pt"

_LOADERS: dict[str, Callable[[Path, ModelSpec, str | None], SpecPredictor]] = {
    "torchscript": torchscript.load,
    "export": export.load,
    "transformers": hugging_face.load,
    "entrypoint": entrypoint.load,
    "mlp": mlp.load,
}


def load_version(folder: Path, device: str | None = None, *,
                 warmup: bool = True) -> SpecPredictor:
    """The model version in ``folder``, loaded by its spec and served on ``device``.

    Parameters
    ----------
    folder
        A version folder: ``model.json`` and the artifact it names (or ``model.pt`` alone,
        the ``mlp`` kind of releases before specs).
    device
        ``"cuda"``, ``"cuda:N"`` or ``"cpu"``; None: cuda when present, else the CPU.
    warmup
        Score a small batch first: CUDA's start-up is not billed to the first request,
        and a model whose outputs do not fit its spec fails here.

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a folder.
    SpecError
        No or an invalid ``model.json``, a missing or unreadable artifact, inputs the kind
        cannot take, an entrypoint that does not import; the message names the cause.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a model version folder")
    if not (folder / SPEC_FILE).exists() and (folder / LEGACY_ARTIFACT).is_file():
        predictor: SpecPredictor = mlp.load(folder, None, device)
    else:
        spec = ModelSpec.load(folder)
        predictor = _LOADERS[spec.kind](folder, spec, device)
    if warmup:
        predictor.warm_up()
    return predictor
