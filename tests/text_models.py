"""A tiny text classifier for the tests: a randomly initialised BERT and a
word-level tokenizer built here, saved as a kind ``transformers`` version (nothing is
downloaded), and its own answers computed by hand.

Every word of the vocabulary is its own token, so two topics written with disjoint words
reach the model through disjoint token embeddings: their mean-pooled hidden states differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.model_spec import ModelSpec

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def tokenizer(words: Sequence[str]) -> Any:
    """A fast tokenizer whose tokens are ``words`` (split on whitespace), with BERT's
    [CLS] and [SEP] around each text."""
    import tokenizers
    import transformers

    vocab = {w: i for i, w in enumerate([*SPECIAL, *words])}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", model_max_length=64)


def save_text_classifier(folder: Path, words: Sequence[str], classes: Sequence[str], *,
                         text: str = "body", max_length: int = 16, hidden: int = 16,
                         seed: int = 0) -> tuple[Any, Any]:
    """Build a 2-layer BERT over ``words`` with a head for ``classes``, save it with its
    tokenizer and ``model.json`` into ``folder``; returns (model, tokenizer)."""
    import transformers

    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(SPECIAL) + len(words), hidden_size=hidden, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64,
        num_labels=len(classes))
    model = transformers.BertForSequenceClassification(config).eval()
    tok = tokenizer(words)
    folder.mkdir(parents=True)
    model.save_pretrained(folder / "hf", safe_serialization=True)
    tok.save_pretrained(folder / "hf")
    ModelSpec.from_dict({"kind": "transformers",
                         "task": "binary" if len(classes) == 2 else "multiclass",
                         "classes": list(classes),
                         "inputs": {"text": {"name": text, "max_length": max_length}}}
                        ).save(folder)
    return model, tok


def direct_text(model: Any, tok: Any, texts: list[str], max_length: int = 16
                ) -> tuple[np.ndarray, np.ndarray]:
    """The model's own class probabilities and masked-mean last hidden state, by hand."""
    enc = tok(texts, padding=True, truncation=True, max_length=max_length,
              return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (out.hidden_states[-1] * mask).sum(1) / mask.sum(1)
        return torch.softmax(out.logits, dim=1).numpy(), pooled.numpy()
