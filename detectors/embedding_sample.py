"""A bounded, mergeable sample of a window's embeddings: projected, keyed, bottom-k.

Text has no columns to test one by one, but its embeddings do have a distribution. A
window keeps a sample of them: projected to a few dozen dimensions (``project``) so it
stays small on the wire and cheap to compare, and chosen by the smallest hashes of the
request ids (``sample_key`` and ``bottom_k``), so samples from any worker, partition or
minute merge exactly. :mod:`detectors.embedding_drift` tests such a sample against the
reference.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

__all__ = ["PROJECTED_DIM", "bottom_k", "bottom_k_index", "project", "sample_key"]

PROJECTED_DIM = 32
"""The dimension embeddings are projected to before they are sampled and compared."""


@lru_cache(maxsize=16)
def _projection_matrix(d: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(d)
    matrix = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(d, dim))
    matrix.flags.writeable = False  # shared by every caller through the cache
    return matrix


def project(vectors: np.ndarray, dim: int = PROJECTED_DIM) -> np.ndarray:
    """Project ``(n, d)`` embeddings to ``(n, min(d, dim))`` with a seeded random matrix.

    A Gaussian random projection ``R`` (``d x dim``, entries ``N(0, 1/dim)``) keeps
    squared distances in expectation (Johnson-Lindenstrauss): at ``dim = 32`` a pairwise
    distance is kept to about 12% (one standard deviation, ``sqrt(1 / (2 dim))``) and
    their average to within 1%, which is enough for a two-sample test and far cheaper
    than 768 dimensions. ``R`` is seeded by ``d`` alone, so every process and every
    restart projects a model's embeddings the same way and samples from different
    workers can be merged; it is built once per ``(d, dim)``.

    Parameters
    ----------
    vectors
        A ``(n, d)`` array of embeddings.
    dim
        The target dimension, ``>= 1``. Embeddings with ``d <= dim`` come back
        unchanged (as float64).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(5, 768))
    >>> project(x).shape, project(x[:, :8]).shape
    ((5, 32), (5, 8))
    >>> bool(np.array_equal(project(x), project(x)))
    True
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be a (n, d) array, got shape {x.shape}")
    if dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    d = x.shape[1]
    return x if d <= dim else x @ _projection_matrix(d, dim)


def sample_key(request_id: str) -> int:
    """A stable 63-bit hash of a request id: its rank in the window's bottom-k sample.

    blake2b's first 8 bytes, shifted right by one so the key fits a signed int64 and
    JSON. Being a hash of the id and nothing else, the same request gets the same key in
    every worker and after every restart, which is what makes samples mergeable and a
    replayed request land in the sample (or not) exactly as it did the first time.

    Examples
    --------
    >>> sample_key("req-42") == sample_key("req-42")
    True
    >>> 0 <= sample_key("req-42") < 2**63
    True
    """
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def bottom_k(keys: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` entries with the smallest keys, sorted by key (ties keep input order).

    With keys that are hashes of the request ids (``sample_key``), the smallest ``k`` are
    a uniform sample without replacement of everything ever offered, whatever the order
    or the partition it came in. So the sample is mergeable: the bottom ``k`` of two
    concatenated bottom-``k`` samples is the bottom ``k`` of their union, and workers,
    partitions or minutes combine without keeping anything else. A request offered twice
    is kept twice; removing repeats is the caller's job.

    Parameters
    ----------
    keys
        ``(n,)`` int64 keys.
    vectors
        ``(n, d)`` embeddings, one per key.
    k
        The sample size, ``>= 0``; fewer entries than ``k`` are all kept.

    Examples
    --------
    >>> keys, vectors = bottom_k(np.array([5, 1, 9, 3]), np.arange(8.0).reshape(4, 2), 2)
    >>> keys.tolist(), vectors.tolist()
    ([1, 3], [[2.0, 3.0], [6.0, 7.0]])
    """
    keys = np.asarray(keys, dtype=np.int64)
    vectors = np.asarray(vectors)
    if keys.ndim != 1 or vectors.ndim != 2 or len(keys) != len(vectors):
        raise ValueError(f"keys must be (n,) and vectors (n, d), got shapes {keys.shape} "
                         f"and {vectors.shape}")
    kept = bottom_k_index(keys, k)
    return keys[kept], vectors[kept]


def bottom_k_index(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest keys, by key: ``bottom_k`` for any aligned arrays.

    >>> bottom_k_index(np.array([5, 1, 9, 3]), 2).tolist()
    [1, 3]
    """
    if k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    return np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")[:k]
