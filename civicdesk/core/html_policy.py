"""What HTML from outside (a citizen's email) may keep when it is shown to staff: one
allow-list for the nh3 sanitiser, used where mail is read (the email adapter) and again where
it is shown (cases.kernels.message_html), so that both apply the same rules."""

from __future__ import annotations

SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
})  # fmt: skip
SAFE_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Elements dropped with everything inside them (not only their tags).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "title", "noscript", "template"})
