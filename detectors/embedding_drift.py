"""Drift of LLM and text inputs, watched through their embeddings.

A window's sample of embeddings (:mod:`detectors.embedding_sample`: projected, bounded
and mergeable) is tested against the reference's by ``embedding_shift`` with two tests,
the kernel MMD (any change of the distribution) and a novelty test (inputs unlike
anything in the reference: a new topic, language or template), which says what moved in
words an on-call engineer can act on; ``farthest`` picks the inputs to read first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

from detectors.base import check_range
from detectors.stats.mmd import mmd_test

__all__ = ["EmbeddingShift", "Novelty", "embedding_shift", "farthest", "novelty_test"]

_NOVELTY_QUANTILE = 0.99
"""A window point is novel when it is farther from the reference than about this share
of the reference's own points are from the rest of it."""


def farthest(reference: np.ndarray, window: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` window rows farthest from their nearest reference row.

    The inputs to look at first when a window drifted: on-call reads the prompts (or
    texts) behind them, which says more than any statistic.

    >>> ref = np.zeros((4, 2))
    >>> farthest(ref, np.array([[0.1, 0.0], [5.0, 0.0], [0.0, 2.0]]), 2).tolist()
    [1, 2]
    """
    nearest = distance.cdist(window, reference).min(axis=1)
    return np.argsort(-nearest, kind="stable")[:n]


@dataclass(frozen=True)
class EmbeddingShift:
    """A window's embeddings tested against the reference's, and what moved."""

    statistic: float
    """The unbiased MMD² (Gaussian kernel, median-heuristic bandwidth on the pool)."""
    p_value: float
    """The decision's p-value: twice the smaller of ``mmd_p_value`` and
    ``novelty_p_value``, at most 1 (Bonferroni over the two tests)."""
    mmd_p_value: float
    """The permutation p-value of ``statistic`` (``mmd_test``)."""
    novelty_p_value: float
    """The p-value of the novel count (``novelty_test``)."""
    bandwidth: float
    """The kernel bandwidth used."""
    novel_share: float
    """The share of window points farther from every reference point than the
    reference's own 99th percentile of leave-one-out nearest-neighbour distance: about
    0.01 when nothing changed, the size of a new kind of input when one appears."""
    mean_shift: float
    """``||mean(window) - mean(reference)||`` over the reference's median pairwise
    distance: how far the whole window moved, in units of the reference's spread."""
    n_window: int
    """The number of window embeddings."""
    n_reference: int
    """The number of reference embeddings."""
    drifted: bool
    """Whether ``p_value <= alpha``."""


def _check_samples(reference: np.ndarray, window: np.ndarray) -> None:
    for name, sample in (("reference", reference), ("window", window)):
        if sample.ndim != 2 or len(sample) < 2:
            raise ValueError(f"{name} must be a (n, d) array with n >= 2 embeddings, got "
                             f"shape {sample.shape}; collect more before testing")
    if reference.shape[1] != window.shape[1]:
        raise ValueError(f"reference and window embeddings differ in dimension: "
                         f"{reference.shape[1]} vs {window.shape[1]}; project both with "
                         f"the same dim")


@dataclass(frozen=True)
class Novelty:
    """How many window points are unlike the reference, and how surprising that is."""

    novel: int
    """Window points farther from their nearest reference point than the threshold."""
    n_window: int
    """The number of window points."""
    rank: int
    """The threshold is the reference's ``rank``-th largest leave-one-out distance."""
    p_value: float
    """``P(novel or more)`` under no change: a beta-binomial tail (see ``novelty_test``)."""


def novelty_test(reference: np.ndarray, window: np.ndarray,
                 quantile: float = _NOVELTY_QUANTILE) -> Novelty:
    """Count the window points unlike anything in the reference, and test the count.

    Each reference point's distance to its nearest other reference point is a score of
    how unusual it is in the reference (leave one out); the threshold is the
    ``k``-th largest of the ``n`` scores, ``k = max(1, floor((1 - quantile) (n + 1)))``.
    A window point is novel when its distance to the nearest reference point exceeds
    it. If the window came from the reference's distribution, the share of that
    distribution above the ``k``-th largest of ``n`` scores is ``Beta(k, n + 1 - k)``
    (order statistics of ``n`` uniforms), so the number of novel points among ``m`` is
    beta-binomial, ``BetaBinomial(m, k, n + 1 - k)``, whatever the distribution; the
    p-value is its upper tail. A window point's nearest neighbour is sought among all
    ``n`` reference points, the reference's own among ``n - 1``, so window scores run a
    little lower and the test is slightly conservative.

    A new kind of input (a topic no reference prompt was about) makes a share of the
    window novel at once, which this sees at shares where the MMD, a test of the whole
    distribution, does not.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ref = rng.normal(size=(500, 4))
    >>> same = novelty_test(ref, rng.normal(size=(100, 4)))
    >>> new = novelty_test(ref, np.concatenate((rng.normal(size=(90, 4)),
    ...                                         rng.normal(8, 1, size=(10, 4)))))
    >>> same.p_value > 0.05, new.novel >= 10, new.p_value < 1e-4
    (True, True, True)
    """
    within = distance.cdist(reference, reference)
    np.fill_diagonal(within, np.inf)  # leave one out: a point is not its own neighbour
    scores = np.sort(within.min(axis=1))
    n, m = len(scores), len(window)
    k = max(1, int(np.floor((1.0 - quantile) * (n + 1))))
    novel = int(np.count_nonzero(distance.cdist(window, reference).min(axis=1) > scores[n - k]))
    p_value = float(stats.betabinom(m, k, n + 1 - k).sf(novel - 1))
    return Novelty(novel=novel, n_window=m, rank=k, p_value=min(1.0, p_value))


def _mean_shift(reference: np.ndarray, window: np.ndarray) -> float:
    """The distance between the means, in median pairwise distances of the reference."""
    moved = float(np.linalg.norm(window.mean(axis=0) - reference.mean(axis=0)))
    spread = float(np.median(distance.pdist(reference)))
    if spread == 0.0:  # most of the reference is one repeated point: no scale to move in
        return 0.0 if moved == 0.0 else np.inf
    return moved / spread


def embedding_shift(reference: np.ndarray, window: np.ndarray, *, alpha: float,
                    n_permutations: int = 200, seed: int = 0) -> EmbeddingShift:
    """Test a window's embeddings against the reference's and say what moved.

    Two tests decide, at ``alpha`` together (each at ``alpha / 2``, Bonferroni): the MMD
    permutation test sees any change in the distribution of the embeddings; the novelty
    test (``novelty_test``) sees inputs unlike anything in the reference, and finds a new
    topic taking 5-10% of the inputs that the MMD misses. Two numbers explain a drift:
    ``novel_share`` ("12% of this window's inputs are unlike anything in the
    reference": a new topic, language or prompt template, to look at by example) and
    ``mean_shift`` (the window as a whole moved, for example every prompt got a new
    prefix). A high ``mean_shift`` with a low ``novel_share`` is a known population
    reweighted or nudged; a high ``novel_share`` is something the model has not seen.

    Parameters
    ----------
    reference, window
        ``(n, d)`` and ``(m, d)`` embeddings, ``n, m >= 2``, projected the same way.
    alpha
        The significance level of the test, in (0, 1).
    n_permutations
        The number of seeded permutations for the MMD's p-value, whose floor is
        ``1 / (1 + n_permutations)``: at least ``2 / alpha - 1`` for the MMD alone to
        be able to decide.
    seed
        Seeds the permutations.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=(80, 8))
    >>> same = embedding_shift(ref, rng.normal(size=(60, 8)), alpha=0.05)
    >>> new = np.concatenate((rng.normal(size=(40, 8)), rng.normal(6, 1, size=(20, 8))))
    >>> shift = embedding_shift(ref, new, alpha=0.05)
    >>> same.drifted, shift.drifted, round(shift.novel_share, 2)
    (False, True, 0.35)
    """
    check_range("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(window, dtype=np.float64)
    _check_samples(x, y)
    mmd = mmd_test(x, y, n_permutations=n_permutations, seed=seed)
    novelty = novelty_test(x, y)
    p_value = min(1.0, 2.0 * min(mmd.p_value, novelty.p_value))
    return EmbeddingShift(
        statistic=mmd.statistic, p_value=p_value, mmd_p_value=mmd.p_value,
        novelty_p_value=novelty.p_value, bandwidth=mmd.bandwidth,
        novel_share=novelty.novel / len(y), mean_shift=_mean_shift(x, y),
        n_window=len(y), n_reference=len(x), drifted=p_value <= alpha,
    )
