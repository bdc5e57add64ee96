"""Embedding drift: projections keep distances, samples merge and stay uniform, and the
MMD test flags a new topic in a window (and says how big it is) but not a fresh draw."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import distance

from detectors.embedding_drift import embedding_shift, novelty_test
from detectors.embedding_sample import PROJECTED_DIM, bottom_k, project, sample_key
from detectors.stats import mmd_test


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# six "topics" in a 64-d embedding space; the reference and usual windows use the first 5
TOPICS = _unit(np.random.default_rng(2024).normal(size=(6, 64)))


def _embeddings(rng: np.random.Generator, n: int, n_new_topic: int = 0) -> np.ndarray:
    """Unit-normalised embeddings of ``n`` texts, ``n_new_topic`` of them on the 6th topic."""
    topic = np.concatenate((rng.integers(0, 5, n - n_new_topic), np.full(n_new_topic, 5)))
    return _unit(TOPICS[topic] + rng.normal(0, 0.1, size=(n, 64)))


# -- project ---------------------------------------------------------------------------

def test_project_is_the_same_in_every_call_and_keeps_small_dimensions() -> None:
    x = np.random.default_rng(0).normal(size=(10, 768))
    projected = project(x)
    assert projected.shape == (10, PROJECTED_DIM)
    assert np.array_equal(projected, project(x.copy()))
    assert np.allclose(project(x[:3]), projected[:3], rtol=1e-12)  # row by row, not per batch
    assert project(x, dim=8).shape == (10, 8)
    small = np.arange(12, dtype=np.float32).reshape(4, 3)
    kept = project(small)
    assert kept.dtype == np.float64 and np.array_equal(kept, small)


def test_project_keeps_pairwise_distances() -> None:
    x = np.random.default_rng(1).normal(size=(200, 768))
    ratio = distance.pdist(project(x)) / distance.pdist(x)
    # a projected squared distance is chi2(32)/32 times the original: the ratio has mean
    # ~0.992 and standard deviation ~1/sqrt(2 * 32) = 0.125
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert 0.10 < ratio.std() < 0.15
    assert np.quantile(ratio, 0.005) > 0.6 and np.quantile(ratio, 0.995) < 1.4


def test_project_rejects_a_bad_shape_or_dim() -> None:
    with pytest.raises(ValueError, match="vectors"):
        project(np.ones(5))
    with pytest.raises(ValueError, match="dim"):
        project(np.ones((2, 5)), dim=0)


# -- sample_key ------------------------------------------------------------------------

def test_sample_key_is_pinned_and_fits_a_signed_int64() -> None:
    assert sample_key("request-0001") == 7542405749853697655
    keys = [sample_key(f"request-{i}") for i in range(1000)]
    assert all(0 <= k < 2**63 for k in keys)
    assert max(keys) > 2**62  # the top bit of the 63 is used: no key space wasted
    assert len(set(keys)) == 1000


# -- bottom_k --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_bottom_k_of_merged_samples_is_bottom_k_of_the_union(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 300)), int(rng.integers(0, 60))
    keys = rng.integers(0, 50 if seed % 2 else 2**63, size=n)  # odd seeds: many ties
    vectors = rng.normal(size=(n, 4))
    cut = int(rng.integers(0, n + 1))
    left, right = bottom_k(keys[:cut], vectors[:cut], k), bottom_k(keys[cut:], vectors[cut:], k)
    merged = bottom_k(np.concatenate((left[0], right[0])),
                      np.concatenate((left[1], right[1])), k)
    union = bottom_k(keys, vectors, k)
    assert np.array_equal(merged[0], union[0]) and np.array_equal(merged[1], union[1])
    assert len(union[0]) == min(k, n) and np.all(np.diff(union[0]) >= 0)
    assert np.array_equal(union[0], np.sort(keys)[:k])


def test_bottom_k_keeps_each_key_with_its_vector_and_ties_in_order() -> None:
    keys, vectors = bottom_k(np.array([7, 2, 7, 2, 9]), np.arange(5.0)[:, None], 3)
    assert keys.tolist() == [2, 2, 7] and vectors.ravel().tolist() == [1.0, 3.0, 0.0]


def test_bottom_k_of_request_keys_is_a_uniform_sample() -> None:
    n, k, runs = 50, 10, 2000
    included = np.zeros(n)
    for run in range(runs):
        keys = np.array([sample_key(f"run-{run}/request-{i}") for i in range(n)])
        kept, _ = bottom_k(keys, np.arange(n, dtype=float)[:, None], k)
        included[np.isin(keys, kept)] += 1
    # each item is in Binomial(2000, 0.2): mean 400, sd 17.9; 4.5 sd for 50 items
    assert np.all(np.abs(included - runs * k / n) < 4.5 * np.sqrt(runs * 0.2 * 0.8))
    assert included.sum() == runs * k


def test_bottom_k_rejects_mismatched_shapes_and_negative_k() -> None:
    with pytest.raises(ValueError, match="keys must be"):
        bottom_k(np.arange(3), np.ones((4, 2)), 2)
    with pytest.raises(ValueError, match="k must be"):
        bottom_k(np.arange(3), np.ones((3, 2)), -1)


# -- embedding_shift -------------------------------------------------------------------

def test_a_window_from_the_same_topics_rarely_drifts() -> None:
    drifted = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        shift = embedding_shift(_embeddings(rng, 300), _embeddings(rng, 150), alpha=0.05,
                                seed=seed)
        drifted += shift.drifted
        assert shift.novel_share < 0.1
    # Binomial(50, 0.05) has mean 2.5; at most 3x alpha of the seeds may drift
    assert drifted <= 7


def test_a_new_topic_drifts_and_its_share_is_the_novel_share() -> None:
    for seed in range(50):
        rng = np.random.default_rng(seed)
        reference, window = _embeddings(rng, 300), _embeddings(rng, 150, n_new_topic=60)
        shift = embedding_shift(reference, window, alpha=0.05, seed=seed)
        assert shift.drifted
        assert shift.novel_share == pytest.approx(0.4, abs=0.15)
        assert (shift.n_reference, shift.n_window) == (300, 150)


def test_embedding_shift_reports_mmd_test_and_the_mean_shift() -> None:
    rng = np.random.default_rng(7)
    reference, window = _embeddings(rng, 120), _embeddings(rng, 80, n_new_topic=20)
    shift = embedding_shift(reference, window, alpha=0.01, n_permutations=99, seed=3)
    mmd = mmd_test(reference, window, n_permutations=99, seed=3)
    novelty = novelty_test(reference, window)
    assert (shift.statistic, shift.mmd_p_value, shift.bandwidth) == (
        mmd.statistic, mmd.p_value, mmd.bandwidth)
    assert shift.novelty_p_value == novelty.p_value
    assert shift.novel_share == novelty.novel / 80
    # Bonferroni over the two tests
    assert shift.p_value == min(1.0, 2 * min(mmd.p_value, novelty.p_value))
    assert shift.drifted == (shift.p_value <= 0.01)
    moved = np.linalg.norm(window.mean(axis=0) - reference.mean(axis=0))
    assert shift.mean_shift == pytest.approx(moved / np.median(distance.pdist(reference)),
                                             rel=1e-12)


def test_novel_share_counts_the_points_far_from_the_reference() -> None:
    rng = np.random.default_rng(8)
    reference = rng.normal(size=(100, 8))
    window = np.concatenate((reference[:15], rng.normal(20, 1, size=(5, 8))))
    shift = embedding_shift(reference, window, alpha=0.05, n_permutations=20)
    assert shift.novel_share == 0.25  # copies are at distance 0, the 5 far ones are novel


def test_embedding_shift_names_what_is_wrong_with_its_input() -> None:
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="differ in dimension: 8 vs 4"):
        embedding_shift(rng.normal(size=(10, 8)), rng.normal(size=(10, 4)), alpha=0.05)
    with pytest.raises(ValueError, match=r"window must be .* n >= 2"):
        embedding_shift(rng.normal(size=(10, 8)), rng.normal(size=(1, 8)), alpha=0.05)
    with pytest.raises(ValueError, match=r"reference must be .* n >= 2"):
        embedding_shift(rng.normal(size=(1, 8)), rng.normal(size=(10, 8)), alpha=0.05)
    with pytest.raises(ValueError, match="alpha"):
        embedding_shift(rng.normal(size=(10, 8)), rng.normal(size=(10, 8)), alpha=1.5)


def test_novelty_p_value_is_the_beta_binomial_tail_by_hand() -> None:
    # leave-one-out nearest distances of the reference: 1, 1, 1, 1, 7; n = 5 and
    # quantile 0.99 give k = 1, the largest, 7. Two of three window points are farther:
    # P(X >= 2) for X ~ BetaBinomial(3, 1, 5) = 3 B(3, 6) / B(1, 5) + B(4, 5) / B(1, 5)
    # = 15/168 + 3/168 = 3/28
    reference = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    result = novelty_test(reference, np.array([[0.5], [20.0], [30.0]]))
    assert (result.novel, result.rank, result.n_window) == (2, 1, 3)
    assert result.p_value == pytest.approx(3 / 28, rel=1e-12)


def test_novelty_test_holds_its_level_when_nothing_changed() -> None:
    """2,000 null windows (a fresh reference each): the novel count's mean is the beta-
    binomial's, m k / (n + 1), or a little under (window points have one more neighbour
    to be near), and p <= 0.05 comes at most 5% of the time."""
    rng = np.random.default_rng(11)
    n, m, runs = 200, 50, 2000
    counts, p_values = [], []
    for _ in range(runs):
        result = novelty_test(rng.normal(size=(n, 3)), rng.normal(size=(m, 3)), quantile=0.95)
        counts.append(result.novel)
        p_values.append(result.p_value)
    k = int(np.floor(0.05 * (n + 1)))
    expected = m * k / (n + 1)  # 2.49
    assert expected * 0.85 <= np.mean(counts) <= expected * 1.02
    rejected = np.mean(np.array(p_values) <= 0.05)
    assert 0.01 <= rejected <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs)


def test_novelty_sees_a_small_new_topic_the_mmd_misses() -> None:
    """A new topic on 8 of 128 inputs (6%): every one of them is novel, which the
    beta-binomial tail calls significant, while the MMD of the whole window is not."""
    rng = np.random.default_rng(12)
    reference = _embeddings(rng, 512)
    window = _embeddings(rng, 128, n_new_topic=8)
    shift = embedding_shift(reference, window, alpha=0.005, n_permutations=400, seed=1)
    assert shift.novelty_p_value <= 0.0025 < 0.05 < shift.mmd_p_value  # each at alpha / 2
    assert shift.drifted and shift.novel_share >= 8 / 128
