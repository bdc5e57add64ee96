"""Kind transformers: a tiny randomly initialised BERT and a word-level tokenizer, built and
saved here (nothing downloaded), served with its logits and its masked-mean embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.loaders import load_version
from inference.loaders.hugging_face import mean_pooled
from inference.model_inputs import ModelInputs
from inference.model_spec import ModelSpec, SpecError
from tests.text_models import tokenizer as word_tokenizer

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

WORDS = ["the", "card", "was", "charged", "twice", "refund", "please", "my", "order", "never",
         "arrived", "thanks", "great", "service", "slow", "delivery", "broken", "item"]
HIDDEN = 16
MAX_LENGTH = 12
TEXTS = ["the card was charged twice", "refund please", "my order never arrived thanks",
         "great service", "slow delivery broken item the card was charged twice refund "
         "please my order never arrived", "unknown words here"]


def tokenizer() -> transformers.PreTrainedTokenizerFast:
    return word_tokenizer(WORDS)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(WORDS) + 4, hidden_size=HIDDEN, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
        num_labels=3)
    model = transformers.BertForSequenceClassification(config).eval()
    tok = tokenizer()
    folder = tmp_path_factory.mktemp("models") / "tickets" / "v1"
    model.save_pretrained(folder / "hf", safe_serialization=True)
    tok.save_pretrained(folder / "hf")
    ModelSpec.from_dict({"kind": "transformers", "task": "multiclass",
                         "classes": ["billing", "shipping", "praise"],
                         "inputs": {"text": {"name": "body", "max_length": MAX_LENGTH}}}
                        ).save(folder)
    return folder, model, tok


def direct(model: object, tok: object, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The model's own probabilities and masked-mean last hidden state, by hand."""
    enc = tok(texts, padding=True, truncation=True, max_length=MAX_LENGTH,  # type: ignore
              return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)  # type: ignore[operator]
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (out.hidden_states[-1] * mask).sum(1) / mask.sum(1)
        return torch.softmax(out.logits, dim=1).numpy(), pooled.numpy()


def text_inputs(texts: list[str]) -> ModelInputs:
    n = len(texts)
    return ModelInputs(np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64), texts)


def test_safetensors_weights_and_no_pickle(built: tuple[Path, object, object]) -> None:
    folder = built[0]
    assert (folder / "hf" / "model.safetensors").is_file()
    assert not list((folder / "hf").glob("*.bin"))


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
@pytest.mark.parametrize("texts", [TEXTS[:1], TEXTS], ids=["batch-1", "batch-many"])
def test_transformers_serves_the_models_logits_and_embedding(
        built: tuple[Path, object, object], texts: list[str], device: str) -> None:
    folder, model, tok = built
    predictor = load_version(folder, device)
    assert predictor.device == device
    assert predictor.spec.kind == "transformers" and predictor.features == ()
    out = predictor.predict_batch(text_inputs(texts))
    probs, pooled = direct(model, tok, texts)
    np.testing.assert_allclose(out.probabilities, probs, atol=1e-5, rtol=0)
    assert out.embeddings is not None and out.embeddings.shape == (len(texts), HIDDEN)
    assert out.embeddings.dtype == np.float32
    np.testing.assert_allclose(out.embeddings, pooled, atol=1e-5, rtol=0)


def test_a_text_scores_the_same_alone_and_padded_in_a_batch(
        built: tuple[Path, object, object]) -> None:
    predictor = load_version(built[0], "cpu", warmup=False)
    together = predictor.predict_batch(text_inputs(TEXTS))
    for i, text in enumerate(TEXTS):
        alone = predictor.predict_batch(text_inputs([text]))
        np.testing.assert_allclose(alone.probabilities[0], together.probabilities[i],
                                   atol=1e-5)
        assert alone.embeddings is not None and together.embeddings is not None
        np.testing.assert_allclose(alone.embeddings[0], together.embeddings[i], atol=1e-5)


def test_mean_pooling_skips_the_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    np.testing.assert_allclose(mean_pooled(hidden, mask).numpy(), [[2.0, 3.0]])


def test_a_text_model_needs_a_text_input(built: tuple[Path, object, object],
                                         tmp_path: Path) -> None:
    folder = tmp_path / "m" / "v1"
    folder.mkdir(parents=True)
    (folder / "hf").symlink_to(built[0] / "hf")
    ModelSpec.from_dict({"kind": "transformers", "task": "multiclass",
                         "classes": ["billing", "shipping", "praise"],
                         "inputs": {"numeric": [{"name": "x"}]}}).save(folder)
    with pytest.raises(SpecError, match="kind transformers takes one text input"):
        load_version(folder, "cpu")
