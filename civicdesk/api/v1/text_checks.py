"""Checks on text the API would store or put in a header, shared by the request schemas.

Each raises ValueError (pydantic turns it into a field's 422 error) for text that PostgreSQL
cannot store (NUL) or that would be unsafe in a header (CR, LF, control characters).
"""

from __future__ import annotations

import re
from typing import Any

NUL = "\x00"

# RFC 6838 §4.2 restricted names for type and subtype; RFC 9110 parameters: token "="
# (token / quoted-string), separated by ";" with optional spaces or tabs.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_PARAM_CHARS = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t !-~])*"'
_MEDIA_TYPE = re.compile(
    rf"{_NAME}/{_NAME}(?:[ \t]*;[ \t]*{_PARAM_CHARS}=(?:{_PARAM_CHARS}|{_QUOTED}))*", re.ASCII
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_no_nul(value: str) -> str:
    if NUL in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


def check_media_type(value: str) -> str:
    if not _MEDIA_TYPE.fullmatch(value):
        raise ValueError(
            "is not a MIME type: expected type/subtype with optional ; name=value parameters, "
            "without control characters"
        )
    return value


def check_filename(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("contains a control character (CR, LF, NUL or another)")
    if "/" in value or "\\" in value:
        raise ValueError("contains a path separator; give the file's name only")
    if value.strip(". ") == "":
        raise ValueError("is not a file name")
    return value


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Where NULs hide in a JSON value (keys too): dotted paths, "" for the value itself."""
    found: list[str] = []
    if isinstance(value, str):
        if NUL in value:
            found.append(path or "(value)")
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                found.append(here.replace(NUL, "\\u0000"))
            found.extend(nul_paths(item, here.replace(NUL, "\\u0000")))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(nul_paths(item, f"{path}.{index}" if path else str(index)))
    return found
