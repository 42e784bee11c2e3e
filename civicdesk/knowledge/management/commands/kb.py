"""civicdesk kb import PATH | export PATH | search "QUERY" --json: the knowledge base."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from civicdesk.knowledge.kernels.faq_files import FileRefused, format_of
from civicdesk.knowledge.selectors import DEFAULT_LIMIT, languages, search_articles
from civicdesk.knowledge.transfer import export_text, import_rows, read_file


class Command(BaseCommand):
    help = "Import, export and search the knowledge base."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        importing = actions.add_parser("import", help="Import a CSV or JSONL file, all or nothing.")
        importing.add_argument("path", help="A .csv or .jsonl file.")
        importing.add_argument("--format", choices=("csv", "jsonl"), dest="fmt")
        importing.add_argument(
            "--column",
            action="append",
            default=[],
            metavar="OURS=THEIRS",
            help="Read our column from the file's column of another name "
            "(e.g. question=questionText); repeatable.",
        )
        exporting = actions.add_parser("export", help="Write the live articles as CSV or JSONL.")
        exporting.add_argument("path", help="A .csv or .jsonl file, or - for standard output.")
        exporting.add_argument("--format", choices=("csv", "jsonl"), dest="fmt")
        searching = actions.add_parser("search", help="Search the public articles.")
        searching.add_argument("query", nargs="?", default=None)
        searching.add_argument("--queries", help="A file with one query a line.")
        searching.add_argument("--json", action="store_true", dest="as_json")
        searching.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
        searching.add_argument("--language", choices=languages())
        searching.add_argument(
            "--internal", action="store_true", help="Include internal articles (staff)."
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            self._import(options["path"], options["fmt"], options["column"])
        elif action == "export":
            self._export(options["path"], options["fmt"])
        else:
            self._search(options)

    def _import(self, path: str, fmt: str | None, column_options: list[str]) -> None:
        file = Path(path)
        columns: dict[str, str] = {}
        for option in column_options:
            ours, equals, theirs = option.partition("=")
            if not equals or not ours.strip() or not theirs.strip():
                raise CommandError(f"--column {option!r}: write it as OURS=THEIRS")
            columns[ours.strip()] = theirs.strip()
        try:
            faq = read_file(file.read_bytes(), fmt=fmt or format_of(file.name), columns=columns)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        except FileRefused as error:
            raise CommandError(f"{path} refused, nothing imported: {error}") from None
        bar = (TextColumn("Importing"), BarColumn(), MofNCompleteColumn())
        with Progress(*bar, transient=True) as progress:
            task = progress.add_task("import", total=len(faq.rows))
            summary = import_rows(faq, on_row=lambda _row: progress.advance(task))
        self.stdout.write(
            f"{path}: {summary.rows} rows; {summary.created} articles created, "
            f"{summary.updated} updated, {summary.unchanged} unchanged"
            + (f"; {summary.repeated} repeated rows counted once" if summary.repeated else "")
        )
        if summary.ignored_columns:
            self.stdout.write(f"Columns not imported: {', '.join(summary.ignored_columns)}")

    def _export(self, path: str, fmt: str | None) -> None:
        try:
            chosen = fmt or ("csv" if path == "-" else format_of(path))
        except FileRefused as error:
            raise CommandError(str(error)) from None
        text = export_text(fmt=chosen)
        if path == "-":
            self.stdout.write(text, ending="")
            return
        Path(path).write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")

    def _search(self, options: dict[str, Any]) -> None:
        if (options["query"] is None) == (options["queries"] is None):
            raise CommandError("Give either a QUERY or --queries FILE.")
        if options["queries"] is not None:
            try:
                queries = Path(options["queries"]).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"{options['queries']}: {error}") from None
        else:
            queries = [options["query"]]
        for query in queries:
            results = search_articles(
                query=query,
                language=options["language"],
                limit=max(options["limit"], 1),
                include_internal=options["internal"],
            )
            rows = [{"id": r.article_id, "title": r.title, "score": r.score} for r in results]
            if options["as_json"]:
                self.stdout.write(json.dumps(rows, ensure_ascii=False))
            elif not rows:
                self.stdout.write(f"{query}: no article found.")
            else:
                for row in rows:
                    self.stdout.write(f"{row['score']:>10.4f}  {row['id']:>6}  {row['title']}")
        sys.stdout.flush()
