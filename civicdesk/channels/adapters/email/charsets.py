"""Text in whatever charset a mail client declared, or failed to declare.

Real mail lies about its charset: UTF-8 bodies declared `us-ascii` or `iso-8859-1`, Windows
code pages declared as Latin-1, names no codec knows (`x-unknown`, `utf8mb4`), ISO-2022-JP
with vendor extensions. `decode_text` reads bytes the way the sender most likely meant them
and says when it had to guess; it never raises and never returns lone surrogates or NULs
(which no database column can hold).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Names seen in the wild mapped to the codec that reads what their senders actually write.
_ALIASES = {
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "utf8mb4": "utf-8",
    "utf8": "utf-8",
    "x-user-defined": "windows-1252",
    # Senders declaring Latin-1 almost always use Windows' superset (curly quotes, euro).
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "ansi_x3.4-1968": "windows-1252",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
}
# Declarations under which a body that is valid UTF-8 (with multi-byte sequences) was really
# written in UTF-8: such bytes are almost never accidental text in these 8-bit charsets.
_UTF8_SUSPECT = {"cp1252", "iso8859-15", "cp1250", "iso8859-2"}
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Decoded:
    text: str
    # Why the text may not be exactly what the sender wrote ("" when decoded as declared).
    note: str = ""


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a declared charset, or None when no codec knows it."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def clean_text(text: str) -> str:
    """Text any database can store: NULs dropped, lone surrogates replaced."""
    return _NOT_TEXT.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def decode_text(data: bytes, charset: str | None) -> Decoded:
    """`data` as text, read with the declared `charset` when it fits, else the likeliest one."""
    declared = (charset or "").strip().strip("\"'")
    codec = codec_for(declared)
    if codec is None or codec in _UTF8_SUSPECT:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if codec is None:
                note = f"charset {declared!r} is unknown; read as UTF-8" if declared else ""
                return Decoded(clean_text(text), note)
            if not text.isascii():
                note = f"declared {declared!r} but written in UTF-8; read as UTF-8"
                return Decoded(clean_text(text), note)
    if codec is not None:
        try:
            return Decoded(clean_text(data.decode(codec)))
        except UnicodeDecodeError:
            pass
    fallback = "windows-1252"
    try:
        text = data.decode(fallback)
        return Decoded(clean_text(text), _guessed(declared, fallback))
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined: Latin-1 reads every byte.
        return Decoded(clean_text(data.decode("latin-1")), _guessed(declared, "ISO-8859-1"))


def _guessed(declared: str, used: str) -> str:
    if declared:
        return f"text is not valid {declared!r}; read as {used}"
    return f"no charset declared; read as {used}"
