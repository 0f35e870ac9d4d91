"""stdout for a command people pipe: ``b2c-keys show X | head -3`` ends quietly, with the command's own status.

Python ignores SIGPIPE, so a write to a closed pipe raises ``BrokenPipeError`` (and its flush at exit prints
"Exception ignored ... Broken pipe"). Restoring SIGPIPE's default would kill the process with status 141 and lose
``expiring``'s 1. Instead stdout is wrapped: once the reader has gone, further output is dropped and the file
descriptor is pointed at /dev/null, the cure Python's documentation gives
(https://docs.python.org/3/library/signal.html#note-on-sigpipe), and the command runs on to return its status.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO, cast


class PipeGuard:
    """A text stream over ``inner`` that swallows a broken pipe once and then discards everything."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.broken = False
        self.encoding = getattr(inner, "encoding", None) or "utf-8"

    def _broke(self) -> None:
        self.broken = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._inner.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._inner.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._inner.flush()
            except BrokenPipeError:
                self._broke()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)  # anything else a writer asks of a text stream (errors, buffer, ...)


@contextlib.contextmanager
def guarded_stdout() -> Iterator[PipeGuard]:
    """``sys.stdout`` guarded for the duration of one command; flushed inside, so a late break is caught too."""
    previous = sys.stdout
    guard = PipeGuard(previous)
    sys.stdout = cast(TextIO, guard)  # write, flush, isatty, fileno, encoding: what print, json and rich use
    try:
        yield guard
    finally:
        guard.flush()
        sys.stdout = previous
