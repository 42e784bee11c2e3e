"""kb import / kb export: all or nothing, refusals that name the row, and a lossless round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from civicdesk.knowledge.models import Article, ArticleVersion
from civicdesk.knowledge.selectors import live_versions

pytestmark = pytest.mark.django_db
# The project's shared data sits beside the checkout (../shared/data).
# CIVICDESK_SHARED_DATA names it when the checkout is elsewhere (a CI clone).
SHARED_DATA = Path(
    os.environ.get("CIVICDESK_SHARED_DATA")
    or Path(__file__).resolve().parents[4] / "shared" / "data"
)
FAQ_BANK = SHARED_DATA / "faq" / "government_faq_bank.csv"

GOOD_CSV = (
    "question,answer,language,source,url,tags\n"
    'Can I bring my dog to the park?,"Yes, on a lead.\n\nNot in play areas.",en,Parks,'
    "https://riverton.example/parks,pets;parks\n"
    'Pot să vin cu câinele în parc?,"Da, în lesă.",ro,Parks,https://riverton.example/parks,pets\n'
)


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("kb", *args, stdout=out)
    return out.getvalue()


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_a_csv_imports_every_row_as_a_published_article(tmp_path: Path) -> None:
    output = _run("import", _write(tmp_path, "faq.csv", GOOD_CSV))

    assert "2 rows; 2 articles created, 0 updated, 0 unchanged" in output
    versions = {version.language: version for version in live_versions()}
    assert versions["en"].title == "Can I bring my dog to the park?"
    assert versions["en"].body == "<p>Yes, on a lead.</p>\n<p>Not in play areas.</p>"
    assert versions["ro"].title == "Pot să vin cu câinele în parc?"
    assert versions["en"].article.tags == ["pets", "parks"]
    assert versions["en"].article.url == "https://riverton.example/parks"


def test_importing_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, "faq.csv", GOOD_CSV)
    _run("import", path)

    assert "0 articles created, 0 updated, 2 unchanged" in _run("import", path)
    assert ArticleVersion.objects.count() == 2


def test_a_changed_answer_becomes_a_new_version_of_the_same_article(tmp_path: Path) -> None:
    _run("import", _write(tmp_path, "faq.csv", GOOD_CSV))
    changed = GOOD_CSV.replace("Yes, on a lead.", "Yes, on a short lead.")

    assert "0 articles created, 1 updated, 1 unchanged" in _run(
        "import", _write(tmp_path, "faq2.csv", changed)
    )
    assert Article.objects.count() == 2
    english = ArticleVersion.objects.filter(language="en").order_by("number")
    assert [(v.number, v.state) for v in english] == [(1, "published"), (2, "published")]
    assert [v.pk for v in live_versions().filter(language="en")] == [english[1].pk]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("faq.csv", "query,answer\nA?,B\n", "no question (or title) column"),
        ("faq.csv", "question,title,answer\nA?,A?,B\n", "columns question and title both"),
        ("faq.csv", "question,answer\nA?,B\nC?\n", "row 2: 1 cells where the header has 2"),
        ("faq.csv", "question,answer\nA?,B\nC?,\n", "row 2: the answer is empty"),
        ("faq.csv", "question,answer,language\nA?,B,de\n", "row 1: language 'de' is not one"),
        ("faq.csv", 'question,answer\nA?,"B\n', "row 1: broken CSV"),
        ("faq.csv", "question,answer\nA?,B\nC?,ca\xe9\n".encode("latin-1"), "not UTF-8"),
        ("faq.jsonl", '{"question": "A?", "answer": "B"}\n{"question": "C?"\n', "row 2: not valid"),
        ("faq.jsonl", '{"question": "A?", "answer": "B"}\n[1]\n', "row 2: each line must be"),
        ("faq.txt", "question,answer\nA?,B\n", "must end in .csv or .jsonl"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_row_and_the_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    with pytest.raises(CommandError) as refusal:
        _run("import", _write(tmp_path, name, content))

    assert "refused, nothing imported" in str(refusal.value) or "must end in" in str(refusal.value)
    assert reason in str(refusal.value)
    assert Article.objects.count() == 0
    assert ArticleVersion.objects.count() == 0


def test_a_question_asked_twice_with_two_answers_is_two_articles_on_every_import(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "faq.csv", "question,answer\nA?,First.\nB?,Other.\nA?,Second.\n")
    assert "3 rows; 3 articles created" in _run("import", path)

    changed = _write(tmp_path, "faq2.csv", "question,answer\nA?,First.\nA?,Second!\nB?,Other.\n")
    assert "0 articles created, 1 updated, 2 unchanged" in _run("import", changed)
    assert sorted(v.body for v in live_versions()) == [
        "<p>First.</p>",
        "<p>Other.</p>",
        "<p>Second!</p>",
    ]


def test_columns_of_another_name_are_read_with_column(tmp_path: Path) -> None:
    line = {"questionText": "A?", "answerText": "B.", "answer": "", "extra": {"any": 1}}
    path = _write(tmp_path, "faq.jsonl", json.dumps(line) + "\n")

    output = _run(
        "import", path, "--column", "question=questionText", "--column", "answer=answerText"
    )

    assert "1 rows; 1 articles created" in output
    assert "Columns not imported: answer (replaced), extra" in output
    assert [(v.title, v.body) for v in live_versions()] == [("A?", "<p>B.</p>")]
    with pytest.raises(CommandError, match="'nonsense' is not a column of ours"):
        _run("import", path, "--column", "nonsense=questionText")


def test_an_answer_with_markup_is_imported_as_text(tmp_path: Path) -> None:
    content = 'question,answer\nA?,"<script>alert(1)</script> <b>bold</b> & more"\n'
    _run("import", _write(tmp_path, "faq.csv", content))

    body = ArticleVersion.objects.get().body
    assert body == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; &amp; more</p>"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_into_an_empty_base_gives_the_same_articles(
    tmp_path: Path, fmt: str
) -> None:
    _run("import", _write(tmp_path, "faq.csv", GOOD_CSV))
    exported = tmp_path / f"out.{fmt}"
    _run("export", str(exported))
    before = sorted(
        (v.language, v.title, v.body, v.article.source, v.article.url, tuple(v.article.tags))
        for v in live_versions().select_related("article")
    )
    Article.objects.all().delete()

    assert "2 articles created" in _run("import", str(exported))
    after = sorted(
        (v.language, v.title, v.body, v.article.source, v.article.url, tuple(v.article.tags))
        for v in live_versions().select_related("article")
    )
    assert after == before
    if fmt == "jsonl":
        first = json.loads(exported.read_text(encoding="utf-8").splitlines()[0])
        assert first["tags"] == ["pets", "parks"]
        assert first["visibility"] == "public"


@pytest.mark.skipif(
    not FAQ_BANK.exists(), reason=f"the shared data is not beside this checkout ({FAQ_BANK})"
)
def test_the_public_health_faq_bank_imports_whole() -> None:
    output = _run("import", str(FAQ_BANK))

    assert "210 rows; 210 articles created" in output
    assert "3 repeated rows counted once" in output
    assert "Columns not imported: answer_html, name, category" in output
    assert live_versions().count() == 210
