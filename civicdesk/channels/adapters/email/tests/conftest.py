"""Fixtures of the email adapter's tests: a real IMAP server (see dovecot.py)."""

from civicdesk.channels.adapters.email.tests.dovecot import dovecot_server

__all__ = ["dovecot_server"]
