"""Progress of a batch on stderr: a bar on a terminal (tqdm when installed), one line per tomogram otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["Progress"]


class Progress:
    """Report finished tomograms.

    Parameters
    ----------
    total : int
        Number of tomograms.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    mode : {'auto', 'bar', 'lines', 'off'}
        ``auto``: a bar when `stream` is a terminal, else one line per tomogram.
    """

    def __init__(self, total: int, stream: IO[str] | None = None, mode: str = "auto") -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"unknown progress mode {mode!r}")
        self.mode = mode
        self.count = 0
        self.failed = 0
        self._start = time.perf_counter()
        self._tqdm: Any = None
        if mode == "bar":
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._tqdm = tqdm(total=total, unit="tomo", file=self.stream, dynamic_ncols=True)

    def advance(self, name: str, status: str, detail: str = "") -> None:
        """One tomogram finished with `status` (``done``, ``skipped`` or ``failed``)."""
        self.count += 1
        self.failed += status == "failed"
        if self.mode == "off":
            return
        if self.mode == "lines":
            text = f"[{self.count}/{self.total}] {name}: {status}"
            print(f"{text} ({detail})" if detail else text, file=self.stream, flush=True)
            return
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(f"{name} {status}" + (f", {self.failed} failed" if self.failed else ""))
            self._tqdm.update(1)
            return
        width = 30
        filled = int(width * self.count / max(1, self.total))
        elapsed = time.perf_counter() - self._start
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.count}/{self.total} tomograms{failed} ({elapsed:.0f} s)"
        )
        self.stream.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.mode == "bar":
            self.stream.write("\n")
            self.stream.flush()
