"""Lengths and sizes every app agrees on, written once.

A form, an API schema, a channel adapter and a model column that hold the same thing use the
same constant, so a citizen's text is refused at the edge with the limit the database keeps,
never cut short somewhere in between. Changing one of these that a column uses needs a migration.
"""

from __future__ import annotations

from typing import Final

MESSAGE_BODY_MAX_LENGTH: Final = 20_000
"""A message, reply, note or request description."""

SUBJECT_MAX_LENGTH: Final = 255
"""A case's or message's subject line."""

NAME_MAX_LENGTH: Final = 200
"""A person's full name, a message author's label, an attachment's file name."""

EMAIL_MAX_LENGTH: Final = 254
"""An email address or any other contact point (RFC 5321 path limit)."""

PROVIDER_ID_MAX_LENGTH: Final = 200
"""An id a provider or calling system gives a message (deduplication key)."""

PROVIDER_ID_COLUMN_LENGTH: Final = 255
"""The column that stores provider ids: a little room above what adapters accept."""

ANSWER_MAX_LENGTH: Final = 5000
"""One answer to a service's question."""

SERVICE_CODE_MAX_LENGTH: Final = 60
"""A service's Open311 code (and a question's code)."""

PRIORITY_MAX_LENGTH: Final = 20
"""The column that stores a `Priority` value."""
