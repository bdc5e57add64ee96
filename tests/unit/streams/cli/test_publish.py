"""``inferwatch models publish`` end to end: a TorchScript model with numeric and categorical
inputs published from a Parquet file through the serving loaders, its references checked
against numpy and Counter, its card's hash verified; refused models publish nothing; and
``inferwatch train`` publishes through the same checks, with a card."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.model_spec import ModelSpec
from inference.registry import ModelStore
from streams.cli.main import main
from tests.unit.inference.test_publisher import (
    Scorer,
    assert_references,
    save_version,
    spec_of,
    write_data,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit's own


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelStore:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INFERWATCH_INFERENCE_MODEL_DIR", str(tmp_path / "models"))
    return ModelStore(tmp_path / "models")


def _publish(source: Path, data: Path, *extra: str) -> int:
    return main(["models", "publish", "churn", "--version", "v1", "--from", str(source),
                 "--reference", str(data), "--device", "cpu", *extra])


def test_publish_builds_the_references_and_a_card_that_verifies(
        tmp_path: Path, store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    source = save_version(tmp_path / "build", Scorer())
    data = write_data(tmp_path / "ref.parquet")
    assert _publish(source, data, "--label", "churned", "--holdout", "0.2") == 0
    out = capsys.readouterr().out
    path = store.path_for("churn", "v1")
    card = store.verify("churn", "v1")
    accuracy = card.lineage.metrics["holdout_accuracy"]
    assert out.splitlines() == [
        f"published churn v1 to {path}",
        "  rows: 400 reference, 100 holdout",
        "  references: reference.json, reference_categories.json, reference_output.json, "
        "performance_reference.json, holdout.npz, reference_importance.json",
        f"  holdout accuracy: {accuracy:.4f} (label churned, 100 rows)",
        "  checked on cpu",
        f"  content hash: {card.content_hash}"]
    assert ModelSpec.load(path) == spec_of()
    assert_references(path, data, holdout_rows=100)
    assert main(["models", "churn"]) == 0
    listed = capsys.readouterr().out
    assert re.search(rf"  v1  created .*, holdout accuracy {accuracy:.4f}, "
                     rf"sha256 {card.content_hash[:12]}", listed)


@pytest.mark.parametrize(("module", "spec", "cause"), [
    (Scorer(n_out=3), None, "its spec declares 2 classes ['stay', 'churn']"),
    (Scorer(broken=True), None, "the model's output is NaN or infinite for 256 of 256 rows"),
    (Scorer(), spec_of(("tenure", "income")), "has no column 'income' (it has churned, plan, "
                                              "spend, tenure)"),
])
def test_a_refused_model_is_named_and_nothing_is_published(
        tmp_path: Path, store: ModelStore, capsys: pytest.CaptureFixture[str],
        module: Scorer, spec: ModelSpec | None, cause: str) -> None:
    source = save_version(tmp_path / "build", module, spec)
    data = write_data(tmp_path / "ref.parquet")
    assert _publish(source, data, "--label", "churned") == 2
    err = capsys.readouterr().err
    assert err.startswith("inferwatch: models publish: ") and cause in err
    assert err.rstrip().endswith("nothing was published")
    assert store.versions("churn") == []


def test_publish_has_its_own_help_and_the_listing_its_own_words(
        store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["models", "publish", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: inferwatch models publish [-h] --version VERSION --from PATH")
    assert out.split("\n\n")[-1].startswith("example:\n  inferwatch models publish churn")
    with pytest.raises(SystemExit):
        main(["models", "publish", "churn", "--version", "v1"])
    assert "the following arguments are required: --from, --reference" in capsys.readouterr().err
    assert main(["models", "churn", "v1"]) == 2
    assert "unexpected 'v1' after the model" in capsys.readouterr().err


def test_train_publishes_through_the_checks_with_a_card(
        store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "m", "--rows", "1000"]) == 0
    card = store.verify("m", "v1")
    assert capsys.readouterr().out.startswith(f"published m v1 to {store.path_for('m', 'v1')}")
    assert card.lineage.device == "cpu" and card.lineage.metrics["n_train"] == 1000.0
    assert main(["models", "m"]) == 0
    listed = capsys.readouterr().out
    assert "published without a card" not in listed
    assert f"holdout accuracy {card.lineage.metrics['holdout_accuracy']:.4f}" in listed


def _tiny_text_model(folder: Path) -> Path:
    """A randomly initialised one-layer BERT classifier and its word-piece tokenizer,
    saved locally (nothing downloaded)."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    hf = folder / "hf"
    hf.mkdir(parents=True)
    (hf / "vocab.txt").write_text("\n".join(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TEXT_WORDS]) + "\n")
    BertTokenizer(str(hf / "vocab.txt")).save_pretrained(hf)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(TEXT_WORDS), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, num_labels=2,
                        max_position_embeddings=64)
    BertForSequenceClassification(config).eval().save_pretrained(hf, safe_serialization=True)
    ModelSpec.from_dict({"kind": "transformers", "task": "binary", "classes": ["ok", "spam"],
                         "inputs": {"text": {"name": "message", "max_length": 32}}}
                        ).save(folder)
    return folder


TEXT_WORDS = ("win", "cash", "now", "hello", "meeting", "at", "noon", "free")


def test_a_text_model_is_published_with_its_own_embeddings(
        tmp_path: Path, store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = _tiny_text_model(tmp_path / "build")
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(TEXT_WORDS, size=k)) for k in rng.integers(1, 8, size=80)]
    data = tmp_path / "messages.csv"
    data.write_text("message\n" + "\n".join(texts) + "\n")
    assert main(["models", "publish", "assistant", "--version", "v1", "--from", str(source),
                 "--reference", str(data), "--device", "cpu"]) == 0
    assert "embedding_reference.npy" in capsys.readouterr().out
    store.verify("assistant", "v1")
    # the model's own embedding, computed here: the masked mean of its last hidden state
    tokenizer = AutoTokenizer.from_pretrained(source / "hf", local_files_only=True)
    model = BertForSequenceClassification.from_pretrained(source / "hf", local_files_only=True)
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=32,
                        return_tensors="pt")
    with torch.no_grad():
        hidden = model.eval()(**encoded, output_hidden_states=True).hidden_states[-1].numpy()
    mask = encoded["attention_mask"].numpy()[:, :, None]
    expected = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    for path in (store.path_for("assistant", "v1") / "embedding_reference.npy",
                 store.root / "assistant" / "embedding_reference.npy"):
        assert np.allclose(np.load(path), expected, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_the_model_is_checked_against_itself_on_cpu(
        tmp_path: Path, store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    source = save_version(tmp_path / "build", Scorer())
    data = write_data(tmp_path / "ref.parquet")
    assert main(["models", "publish", "churn", "--version", "v1", "--from", str(source),
                 "--reference", str(data), "--device", "cuda"]) == 0
    assert "checked on cuda" in capsys.readouterr().out
    store.verify("churn", "v1")
