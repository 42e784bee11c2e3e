"""Normalising contact points so that one person is found again by any of them.

Pure functions: no ORM. Emails are lower-cased and trimmed; phone numbers become E.164 through
the `phonenumbers` library; social handles lose a leading @ and are lower-cased.
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers

from civicdesk.core.limits import EMAIL_MAX_LENGTH


class ContactKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    TWITTER = "twitter"
    API = "api"


class InvalidContactPoint(ValueError):
    pass


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^[\w.\-:]{1,200}$")
_PHONE_KINDS = {ContactKind.PHONE, ContactKind.WHATSAPP}


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not _EMAIL.match(email) or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidContactPoint(f"{value!r} is not an email address")
    return email


def normalise_phone(value: str, *, default_region: str) -> str:
    try:
        number = phonenumbers.parse(value.strip(), default_region)
    except phonenumbers.NumberParseException:
        raise InvalidContactPoint(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContactPoint(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_handle(value: str) -> str:
    handle = value.strip().lstrip("@").lower()
    if not _HANDLE.match(handle):
        raise InvalidContactPoint(f"{value!r} is not a valid handle")
    return handle


def normalise(kind: str, value: str, *, default_region: str = "GB") -> str:
    """The canonical form of a contact point of `kind`; raises InvalidContactPoint."""
    contact_kind = ContactKind(kind)
    if contact_kind is ContactKind.EMAIL:
        return normalise_email(value)
    if contact_kind in _PHONE_KINDS:
        return normalise_phone(value, default_region=default_region)
    return normalise_handle(value)
