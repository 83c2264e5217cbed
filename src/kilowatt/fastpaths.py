"""The one switch for speed tricks that reach into a library's internals.

Some hot paths skip a library's public API where it costs measurable CPU or memory per call
(see docs/benchmarks.md for the figures). Each such trick:

- asks :func:`enabled` before it is used (the switch, ``KILOWATT_FAST_PATHS``);
- checks the library release and the internals it touches (a version guard);
- has a plain fallback through the public API, which runs when the switch is off or the guard
  fails, and which CI runs too (the end-to-end suite with ``KILOWATT_FAST_PATHS=0``).

The environment variable is read once, on the first call: ``0``, ``false``, ``no`` or ``off``
(any case) turn every trick off; anything else, or no variable, leaves them on. Tests flip the
switch with :func:`override`.

Where the switch is consulted (keep this list current):

- :mod:`kilowatt.transport.connection`: writing a text frame without ``Connection.send()``
  (websockets 17 internals), decided per connection when it is made.
- :mod:`kilowatt.transport.server`: one server-wide keepalive task pinging every connection
  instead of websockets' task per connection (fails a late connection through websockets
  internals), decided when the server is made.
- :mod:`kilowatt.storage.database`: the inline ``sqlite3`` driver under SQLAlchemy
  (:mod:`kilowatt.storage.inline_sqlite`), and with it the statements :mod:`kilowatt.storage.
  hotpath` runs on the raw ``sqlite3`` connection with SQLAlchemy's compiled bind and result
  processors (private attributes), the journal file and the WAL checkpointer; decided when the
  ``Database`` is made. Off: the real ``aiosqlite`` driver, every statement through SQLAlchemy,
  the journal as a table of the main database.
"""

from __future__ import annotations

import os

__all__ = ["ENV", "enabled", "override"]

ENV = "KILOWATT_FAST_PATHS"
"""The environment variable of the switch."""

_OFF = frozenset({"0", "false", "no", "off"})
_enabled: bool | None = None


def enabled() -> bool:
    """True unless ``KILOWATT_FAST_PATHS`` turns the fast paths off (read once, then cached)."""
    global _enabled
    if _enabled is None:
        _enabled = os.environ.get(ENV, "1").strip().lower() not in _OFF
    return _enabled


def override(value: bool | None) -> None:
    """Force the switch on (True) or off (False); None reads the environment again on the next
    :func:`enabled` call. For tests: objects that decided when they were made keep their choice.
    """
    global _enabled
    _enabled = value
