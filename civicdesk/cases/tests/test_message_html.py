"""The sanitiser and folder of HTML messages (a pure kernel): what is kept, what is dropped,
and where the quoted tail is cut."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from civicdesk.cases.kernels.message_html import SafeParts, safe_message_html

IMAGES = {"a1@x": "/files/1/?inline=1"}


def test_only_the_messages_own_images_keep_a_source() -> None:
    html = (
        '<p><img src="cid:a1@x" alt="mine"><img src="cid:unknown@x" alt="gone">'
        '<img src="https://tracker.example/p.gif"><img src="data:image/png;base64,AAAA">'
        '<img src="//cdn.example/x.png"></p>'
    )
    assert safe_message_html(html, images=IMAGES).new == (
        '<p><img src="/files/1/?inline=1" alt="mine"><img alt="gone"><img><img><img></p>'
    )


def test_scripts_handlers_styles_and_script_links_go() -> None:
    html = (
        '<p style="x" onmouseover="a()">Hi <a href="javascript:alert(1)">j</a> '
        '<a href="https://ok.example/">ok</a></p><script>bad()</script><style>p{}</style>'
        "<form><input name=x></form><iframe src=https://x.example></iframe>"
    )
    assert safe_message_html(html, images={}).new == (
        '<p>Hi <a rel="noopener noreferrer nofollow">j</a> '
        '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a></p>'
    )


def test_the_quoted_tail_is_cut_where_the_text_was_folded() -> None:
    html = (
        "<div><p>New words here.</p><p>More of them.</p></div>"
        "<div>On Monday, we wrote:<blockquote>Old words.</blockquote></div>"
    )
    parts = safe_message_html(
        html,
        images={},
        new_text="New words here.\n\nMore of them.",
        quoted_text="On Monday, we wrote:\n> Old words.",
    )
    assert parts == SafeParts(
        new="<div><p>New words here.</p><p>More of them.</p></div>",
        quoted="<div>On Monday, we wrote:<blockquote>Old words.</blockquote></div>",
    )


def test_a_cut_inside_a_block_reopens_its_ancestors() -> None:
    parts = safe_message_html(
        "<div><p>Thanks</p><blockquote>Old</blockquote></div>",
        images={},
        new_text="Thanks",
        quoted_text="> Old",
    )
    assert parts == SafeParts(
        new="<div><p>Thanks</p></div>", quoted="<div><blockquote>Old</blockquote></div>"
    )


def test_nothing_is_folded_when_no_block_reads_as_the_quoted_text() -> None:
    html = "<p>One paragraph that holds everything.</p>"
    parts = safe_message_html(
        html, images={}, new_text="One paragraph", quoted_text="that holds everything."
    )
    assert parts == SafeParts(new=html, quoted="")
    assert safe_message_html(html, images={}, new_text="x", quoted_text="").quoted == ""


_PIECES = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<blockquote>", "</blockquote>", "<br>",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", '<a href="javascript:x">',
    "</a>", "<img src='cid:a1@x'>", "text ",
    "&lt;script&gt;", "<svg onload=x>", "<style>", "-- ", "On Mon wrote:", "> old",
])  # fmt: skip


@given(st.lists(_PIECES, max_size=30), st.text(max_size=40), st.text(max_size=40))
def test_whatever_comes_in_nothing_unsafe_comes_out(
    pieces: list[str], new_text: str, quoted_text: str
) -> None:
    parts = safe_message_html(
        "".join(pieces), images=IMAGES, new_text=new_text, quoted_text=quoted_text
    )
    for out in (parts.new, parts.quoted):
        assert "<script" not in out
        assert "<svg" not in out
        assert "javascript:" not in out
        assert not re.search(r"\son\w+=", out)
        assert set(re.findall(r'src="([^"]*)"', out)) <= {"/files/1/?inline=1"}
