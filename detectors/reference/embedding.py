"""A model's embedding reference given as a file, instead of learnt from its first windows.

The decision step learns a model's embedding reference from the first embeddings it
sees, which is wrong when traffic had already drifted then (or when the reference should
be the training prompts). A reference file fixes it: an ``(n, d)`` array of the input
embeddings that are normal for the model, saved with ``numpy.save`` as
``<model_dir>/<model>/embedding_reference.npy``. The worker checks every such file at
start and refuses to run on a bad one.

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "assistant" / FILE_NAME
>>> save(path, np.random.default_rng(0).normal(size=(100, 8)))
>>> load(path).shape
(100, 8)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE_NAME = "embedding_reference.npy"
#: fewest rows a reference file may hold: fewer cannot support a two-sample test
MIN_ROWS = 32


def load(path: Path) -> np.ndarray:
    """The embeddings in ``path``; ValueError naming the file and what is wrong."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a numpy .npy array ({exc})") from None
    if array.ndim != 2 or array.shape[0] < MIN_ROWS or array.shape[1] < 1:
        raise ValueError(f"{path}: expected an (n, d) array of embeddings with n >= "
                         f"{MIN_ROWS}, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise ValueError(f"{path}: embeddings must be finite numbers (dtype {array.dtype})")
    return array.astype(np.float64)


def save(path: Path, embeddings: np.ndarray) -> None:
    """Write ``embeddings`` as a reference file (checked the way ``load`` checks it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(embeddings, dtype=np.float32), allow_pickle=False)
    load(path)
