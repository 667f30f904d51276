"""A progress bar for work that turns out to be long: none for a file pushed in a moment."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class LateProgressBar:
    """Called with the count reached so far; shows a rich bar on stderr once ``after_s`` have
    passed, and its final state when closed."""

    def __init__(self, what: str, total: int, after_s: float = 1.0) -> None:
        self.what = what
        self.total = total
        self.after_s = after_s
        self._began = time.monotonic()
        self._bar: Progress | None = None
        self._task = 0
        self._done = 0

    def __call__(self, done: int) -> None:
        self._done = done
        if self._bar is None:
            if time.monotonic() - self._began < self.after_s:
                return
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("lines"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(self.what, total=self.total)
            self._bar.start()
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.total)
            self._bar.stop()
