"""The benchmarks' own model versions, built here and published as version folders.

Beside the demo's MLP (``inferwatch train``: a few thousand weights, so the stage's
per-request work dominates its cost) the serving benchmarks need models whose forward
pass dominates:

- ``mlp-1024x6``: six hidden layers 1024 wide (about 5.3 M weights) over the
  simulator's features, saved as TorchScript (kind ``torchscript``);
- ``tiny-bert``: a BERT sequence classifier of BERT-tiny's shape (2 layers, hidden 128,
  2 heads, intermediate 512), randomly initialised from a config with a word-level
  tokenizer, saved as a local transformers folder (kind ``transformers``); requests
  carry text (:func:`texts`).

Nothing is downloaded. Each is written as ``<root>/churn/v1`` with its ``model.json``
(:mod:`inference.model_spec`), under the model name the simulator's requests carry, so
the real worker serves it from ``INFERWATCH_INFERENCE_MODEL_DIR=<root>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

#: the models :func:`publish` builds (``demo`` is the one ``inferwatch train`` writes)
MODELS: Final = ("demo", "mlp-1024x6", "tiny-bert")
#: the model name the simulator's requests carry
MODEL_NAME: Final = "churn"
WIDTH: Final = 1024
DEPTH: Final = 6
#: BERT-tiny's shape (google/bert_uncased_L-2_H-128_A-2), its vocabulary our own
BERT_SHAPE: Final = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 512, "max_position_embeddings": 128}
MAX_LENGTH: Final = 64
_MESSAGE_WORDS = (
    "the my card was charged twice refund please order never arrived thanks great service "
    "slow delivery broken item account locked password reset cancel subscription invoice "
    "wrong address late again support agent helpful rude price too high discount code "
    "expired package damaged box missing parts app crashes login fails payment declined "
    "bank transfer pending weeks waiting reply email phone call nobody answers")
#: the tokenizer's vocabulary (and the words of the bench's messages)
WORDS: Final = tuple(_MESSAGE_WORDS.split())


def mlp_1024x6(n_features: int, seed: int = 0) -> object:
    """The compute-heavy network: ``DEPTH`` ReLU layers ``WIDTH`` wide, two logits out."""
    import torch

    from bench.overhead_net import build
    torch.manual_seed(seed)
    return build(n_features, WIDTH, DEPTH)


def numeric_spec(kind: str, features: tuple[str, ...], **extra: str) -> dict[str, object]:
    """The ``model.json`` of a binary classifier over ``features`` (numeric inputs)."""
    return {"kind": kind, "task": "binary", "classes": ["stay", "churn"],
            "inputs": {"numeric": [{"name": f} for f in features]}, **extra}


def publish_mlp(root: Path) -> Path:
    """``mlp-1024x6`` as TorchScript in ``root/churn/v1``; the folder."""
    import torch

    from inference.model_spec import ModelSpec
    from retrain.synthetic import FEATURES
    folder = root / MODEL_NAME / "v1"
    folder.mkdir(parents=True)
    torch.jit.save(torch.jit.script(mlp_1024x6(len(FEATURES))), str(folder / "model.ts"))
    ModelSpec.from_dict(numeric_spec("torchscript", tuple(FEATURES))).save(folder)
    return folder


def publish_tiny_bert(root: Path, seed: int = 0) -> Path:
    """``tiny-bert`` as a transformers folder in ``root/churn/v1``; the folder."""
    import tokenizers
    import torch
    import transformers

    from inference.model_spec import ModelSpec
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", model_max_length=BERT_SHAPE["max_position_embeddings"])
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=len(vocab), num_labels=2, **BERT_SHAPE)
    model = transformers.BertForSequenceClassification(config).eval()
    folder = root / MODEL_NAME / "v1"
    model.save_pretrained(folder / "hf", safe_serialization=True)
    fast.save_pretrained(folder / "hf")
    ModelSpec.from_dict({"kind": "transformers", "task": "binary",
                         "classes": ["stay", "churn"],
                         "inputs": {"text": {"name": "message", "max_length": MAX_LENGTH}}}
                        ).save(folder)
    return folder


def texts(n: int, seed: int = 0) -> list[str]:
    """``n`` support messages of 4 to 40 words from :data:`WORDS` (seeded), so a batch
    pads to its longest, as real traffic does."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, 41, n)
    return [" ".join(rng.choice(WORDS, int(k)).tolist()) for k in lengths]


def publish(model: str, root: Path, demo_dir: Path) -> Path:
    """The model directory serving ``model``: ``demo_dir`` for the demo's, else ``root``
    after building the model's version there."""
    if model == "demo":
        return demo_dir
    if model == "mlp-1024x6":
        publish_mlp(root)
    elif model == "tiny-bert":
        publish_tiny_bert(root)
    else:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    return root
