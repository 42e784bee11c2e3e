"""Knowledge search quality on real paraphrases: recall@1, recall@5 and MRR.

    .venv/bin/python benchmarks/knowledge_quality.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python \
        benchmarks/knowledge_quality.py

Imports ../shared/data/faq/government_faq_bank.csv (213 public-health FAQs) with `kb import`,
then asks every query of paraphrase_queries_dev.csv (100 citizen paraphrases) through the same
selector the portal and `kb search` use. The target of a query is the article whose question
is its `faq_question` (whitespace-normalised); a query whose question was imported more than
once (same question, several sources) counts as found at the best rank of any of them.
Only keyword search exists so far: the semantic and fused rows come with the embeddings.
"""

from __future__ import annotations

import csv
import time
from io import StringIO

import harness
from harness import load_note, prepared_django

DATA = harness.REPO.parent / "shared" / "data" / "faq"
DEPTH = 10


def main() -> None:
    with prepared_django() as label:
        from django.core.management import call_command

        from civicdesk.knowledge.models import ArticleVersion
        from civicdesk.knowledge.selectors import search_articles

        call_command("kb", "import", str(DATA / "government_faq_bank.csv"), stdout=StringIO())
        by_title: dict[str, set[int]] = {}
        for article_id, title in ArticleVersion.objects.values_list("article_id", "title"):
            by_title.setdefault(" ".join(title.split()), set()).add(article_id)
        with (DATA / "paraphrase_queries_dev.csv").open(encoding="utf-8", newline="") as file:
            pairs = [
                (row["query"], " ".join(row["faq_question"].split()))
                for row in csv.DictReader(file)
            ]
        ranks: list[int | None] = []
        started = time.perf_counter()
        for query, question in pairs:
            targets = by_title[question]
            found = [r.article_id for r in search_articles(query=query, limit=DEPTH)]
            ranks.append(next((i + 1 for i, a in enumerate(found) if a in targets), None))
        elapsed = time.perf_counter() - started
        total = len(ranks)
        r1 = sum(rank == 1 for rank in ranks) / total
        r5 = sum(rank is not None and rank <= 5 for rank in ranks) / total
        mrr = sum(1 / rank for rank in ranks if rank is not None) / total
        print(f"{label}; {total} queries; {load_note()}")
        print(f"{'ranking':<10} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>7}")
        print(f"{'keyword':<10} {r1:>9.3f} {r5:>9.3f} {mrr:>7.3f}")
        print(f"mean time per query: {elapsed / total * 1000:.1f} ms")


if __name__ == "__main__":
    main()
