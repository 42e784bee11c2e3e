"""HTML mail read as text, and sanitised for showing."""

from civicdesk.channels.adapters.email.html_text import html_to_text, sanitise_html


def test_blocks_breaks_lists_and_quotes() -> None:
    html = (
        "<div>Hello,<br><br>Two things:</div><ul><li>the bin</li><li>the light</li></ul>"
        "<blockquote type=cite><p>Old text</p><blockquote>older</blockquote></blockquote>"
    )
    assert html_to_text(html) == (
        "Hello,\n\nTwo things:\n- the bin\n- the light\n\n> Old text\n>\n> > older"
    )


def test_unbalanced_markup_and_scripts() -> None:
    assert html_to_text("<p>one<div>two<script>x()</script></p>three") == "one\ntwo\n\nthree"


def test_sanitiser_removes_active_content_and_remote_images() -> None:
    clean = sanitise_html(
        '<p onclick="x()">Hi<script>bad()</script></p><img src="https://t.example/p.gif">'
        '<img src="cid:photo1"><a href="javascript:alert(1)">x</a><form><input></form>'
    )
    assert (
        clean == '<p>Hi</p><img><img src="cid:photo1"><a rel="noopener noreferrer nofollow">x</a>'
    )
