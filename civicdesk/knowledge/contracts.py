"""The seam for semantic search: a sentence embedder, chosen by setting.

Not wired yet. The plan (issue "Self-service that works"): an `Embedder` turns texts into
unit vectors; a task embeds each published version off the request path and stores its
vector beside its `SearchDocument`; `selectors.search_articles` ranks the live documents by
cosine similarity to the query's vector and fuses that ranking with the keyword one
(`kernels.fusion.reciprocal_rank_fusion`). The real embedder loads all-MiniLM-L6-v2 from an
installed package (never from a hub); a fake one (hashed bag of words) serves the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """Texts to vectors of `dimensions` floats, each of unit length."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
