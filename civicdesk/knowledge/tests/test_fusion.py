"""Reciprocal rank fusion: exact scores and orders."""

from __future__ import annotations

import pytest

from civicdesk.knowledge.kernels.fusion import reciprocal_rank_fusion


def test_an_item_high_in_both_rankings_comes_first() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]], k=1)

    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert dict(fused) == pytest.approx(
        {"a": 1 / 2, "b": 1 / 3 + 1 / 2, "c": 1 / 4 + 1 / 3, "d": 1 / 4}
    )


def test_weights_scale_each_ranking_and_repeats_count_once() -> None:
    fused = reciprocal_rank_fusion([["a", "a", "b"], ["b"]], k=60, weights=[1.0, 3.0])

    assert [item for item, _ in fused] == ["b", "a"]
    assert [score for _, score in fused] == pytest.approx([1 / 62 + 3 / 61, 1 / 61])


def test_ties_keep_the_order_first_seen() -> None:
    assert [item for item, _ in reciprocal_rank_fusion([["x"], ["y"]])] == ["x", "y"]
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([["x"]], weights=[1.0, 2.0])
