"""Kind ``transformers``: a local Hugging Face folder (default ``hf/``) holding a tokenizer
and a sequence-classification model with safetensors weights.

Named so as not to shadow the ``transformers`` package. The folder is read with
``local_files_only=True`` (nothing is downloaded) and ``use_safetensors=True`` (no pickled
``pytorch_model.bin``), and without ``trust_remote_code``: an architecture transformers
does not ship cannot load this way (serve it as kind ``entrypoint``).

The spec's text input goes through the tokenizer (padding, truncation at its
``max_length``) and the model; its logits are the outputs, and the **mean of the last
hidden state over the attention mask** is the embedding
(:attr:`~inference.predictor.PredictionBatch.embeddings`). Not the pooled output: only
some architectures have a pooler (BERT's; DistilBERT, RoBERTa's classification head
and most decoders have none, or pool inside the head), whereas every model returns
its hidden states; masked mean pooling is also what sentence-embedding models use, and
padding does not move it, so a text's embedding is the same alone or in a batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from inference.loaders.artifact import artifact_path, unreadable
from inference.model_inputs import ModelInputs
from inference.model_spec import SPEC_FILE, ModelSpec, SpecError
from inference.spec_predictor import SpecPredictor

__all__ = ["TextCall", "load", "mean_pooled"]


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of ``hidden`` ``(n, t, e)`` over the tokens ``attention_mask`` keeps."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class TextCall:
    """How a transformers model is called: tokenise the texts, run the model, return its
    logits and the masked mean of its last hidden state."""

    def __init__(self, tokenizer: Any, module: torch.nn.Module, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.module = module
        self.max_length = max_length

    def to(self, device: torch.device) -> None:
        self.module = self.module.to(device)

    def prepare(self, inputs: ModelInputs) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(list(inputs.text or []), padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
        return dict(encoded)

    def run(self, tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.module(**tensors, output_hidden_states=True)
        return out.logits, mean_pooled(out.hidden_states[-1], tensors["attention_mask"])


def load(folder: Path, spec: ModelSpec, device: str | None) -> SpecPredictor:
    """The tokenizer and model of ``folder``'s Hugging Face folder, served on ``device``."""
    if spec.text is None or spec.numeric or spec.categorical:
        raise SpecError(f"{folder / SPEC_FILE}: kind transformers takes one text input and "
                        "nothing else (inputs.text, no numeric or categorical inputs)")
    path = artifact_path(folder, spec)
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("kind transformers needs the transformers package: "
                          "pip install 'inferwatch[text]'") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        module = AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True, use_safetensors=True)
    except Exception as exc:  # any failure reads as a bad artifact
        raise unreadable(path, spec, exc) from exc
    call = TextCall(tokenizer, module.eval(), spec.text.max_length)
    return SpecPredictor(spec, call, model=folder.parent.name, version=folder.name,
                         device=device)
