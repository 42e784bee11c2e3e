"""Reciprocal rank fusion: one ranking from several (keyword, semantic), by rank alone.

score(d) = Σ over rankings of 1 / (k + rank of d), rank from 1. Scores of different engines
(bm25, ts_rank, cosine) are not comparable; ranks are. k = 60 is the constant of Cormack,
Clarke and Büttcher (SIGIR 2009); a smaller k favours the top of each list.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = 60
Item = TypeVar("Item", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Item]],
    *,
    k: int = K,
    weights: Sequence[float] | None = None,
) -> list[tuple[Item, float]]:
    """Items of every ranking, best first, with their fused score; ties keep first-seen order."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[Item, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: position for position, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))
