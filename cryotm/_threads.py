"""Work done in a second thread while the calling thread does its own (numpy releases the GIL in both).

A pick reads two large maps: the scores (the threshold's two passes) and the
angle map (its index range). On a machine with two processors these run at
once. :class:`Background` is the small part of :mod:`concurrent.futures`
this needs, without its import and its pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Background", "processors"]


def processors() -> int:
    """The number of processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Background:
    """``function(*args)`` started in a daemon thread at once.

    :meth:`result` waits for it and returns its value, or raises the
    exception it raised, in the calling thread.

    Examples
    --------
    >>> Background(sum, [1, 2, 3]).result()
    6
    """

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, args), name="cryotm-background",
                                        daemon=True)
        self._thread.start()

    def _run(self, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._value = function(*args)
        except BaseException as exc:  # handed to the thread that asks for the result
            self._error = exc

    def result(self) -> Any:
        """Wait for the function; its value, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
