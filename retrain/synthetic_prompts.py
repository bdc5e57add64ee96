"""The generative model of prompts to an assistant, seen through their embeddings.

Text inputs are watched through their embeddings, so the simulator needs embeddings
that behave like a sentence encoder's: unit vectors of a few hundred dimensions,
clustered by topic. Prompts here come from ``n_topics`` topics, each a direction on the
unit sphere; a prompt's embedding is its topic's direction plus isotropic noise,
normalised. A topic shift makes a new topic (one no reference prompt was about: a
product launch, an abuse wave) take a share of the prompts.

The topic directions come from their own fixed seed, so every run, and the reference
and the traffic of one run, share them; ``seed`` drives only which prompts are sent.

Examples
--------
>>> prompts = PromptTopics(seed=0)
>>> x = prompts.sample(4)
>>> x.shape, bool(np.allclose(np.linalg.norm(x, axis=1), 1.0))
((4, 384), True)
>>> shifted = prompts.sample(2000, new_topic_share=0.4)
>>> round(float(np.mean(shifted @ prompts.new_topic > 0.5)), 1)  # prompts about it
0.4
"""

from __future__ import annotations

import numpy as np

DIM = 384  # a small sentence encoder's (e.g. MiniLM's)
_TOPICS_SEED = 20_261_130


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class PromptTopics:
    """Seeded prompt embeddings from a mixture of topics, with an optional new topic.

    Parameters
    ----------
    seed
        Seeds which prompts are drawn.
    n_topics
        The topics of ordinary traffic, equally likely.
    spread
        The norm of a prompt's noise around its topic (0.8: cosine about 0.78 to it).
    """

    def __init__(self, seed: int, n_topics: int = 8, spread: float = 0.8) -> None:
        directions = _unit(np.random.default_rng(_TOPICS_SEED).normal(size=(n_topics + 1, DIM)))
        self.topics, self.new_topic = directions[:n_topics], directions[n_topics]
        self.spread = spread
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int, new_topic_share: float = 0.0) -> np.ndarray:
        """``n`` prompt embeddings; each is about the new topic with ``new_topic_share``."""
        rng = self._rng
        centres = self.topics[rng.integers(0, len(self.topics), n)]
        centres[rng.random(n) < new_topic_share] = self.new_topic
        return _unit(centres + self.spread / np.sqrt(DIM) * rng.normal(size=(n, DIM)))
