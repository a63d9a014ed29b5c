"""`Progress`: how far a long run over files is, on a terminal and in a log alike."""

import sys
import time

from siam_keras.runtime.output_folder import printable

#: Seconds between progress lines when the output is not a terminal (a log file, a
#: batch job's output).
LOG_INTERVAL = 10.0
BAR_WIDTH = 24


def _duration(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts finished items and shows the count, the rate and the time left.

    On a terminal, one bar rewritten in place; otherwise (a log file, a batch job's
    output) a line at most every `interval` seconds, and one at the end.

    Args:
        total: items to do.
        label: what is going on, e.g. "siam explain".
        stream: where to write (default: stderr).
        interval: seconds between lines when `stream` is not a terminal.
        clock: a monotonic clock (for tests).
    """

    def __init__(self, total, label, stream=None, interval=LOG_INTERVAL, clock=time.monotonic):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval, self.clock = interval, clock
        self.start = self.last = clock()

    def status(self):
        """`n/total images, r/s, ETA m:ss` (what the bar and the lines show)."""
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = _duration(left) if left == left else "?"
        return f"{self.done}/{self.total} images, {rate:.1f}/s, ETA {eta}"

    def step(self, name=""):
        """One more item done (`name`: shown on the terminal bar)."""
        self.done += 1
        now = self.clock()
        if self.live:
            filled = int(BAR_WIDTH * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label}: [{bar}] {self.status()} "
                              f"{printable(name)[-40:]:<40}")
            self.stream.flush()
        elif now - self.last >= self.interval or self.done == self.total:
            self.last = now
            print(f"{self.label}: {self.status()}", file=self.stream, flush=True)

    def say(self, text):
        """A message on a line of its own (the bar is redrawn at the next step), its
        control characters escaped (`printable`)."""
        if self.live:
            self.stream.write("\r" + " " * (len(self.label) + 110) + "\r")
        print(printable(text), file=self.stream, flush=True)

    def close(self):
        if self.live and self.done:
            self.stream.write("\n")
