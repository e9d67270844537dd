"""The exception the command line turns into a one-line message and exit status 2.

Raise :class:`UsageError` (a ``ValueError``) for bad input a user can fix: an unknown name, a
malformed value, an unusable path. ``pisces`` prints ``<command>: <message>`` on one line of
stderr and exits with status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input to a command; the message names the offending value."""
