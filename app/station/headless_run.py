"""Running a headless inspection for `bcmlp inspect`: finite sources in batches, live ones
through the capture thread and the latest-frame mailbox; one output line per record.

`watch` is the trust gate's check (`app.commands.inspect_cmd.gate_watch`), called between
batches on the inspecting thread: it stops the run by raising, or swaps the inspector's model
for weights it has just read, judged and loaded from one buffer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import click

from inspection.engine import BadFrame, InspectionResult, Inspector
from inspection.mailbox import Mailbox
from inspection.sources import Capture, Frame, SourceStatus, read_frames

BATCH = 32
WATCH_EVERY_S = 0.5  # live sources: how often the gate check runs between frames


def emit(r: InspectionResult | BadFrame, as_json: bool) -> None:
    if isinstance(r, BadFrame):
        click.echo(f"bcmlp: skipped bad frame {r.workpiece_id}: {r.reason}", err=True)
        return
    a = r.assessment
    if as_json:
        click.echo(json.dumps(r.to_json_dict(), sort_keys=True))
    else:
        click.echo(f"{r.record.workpiece_id}\t{r.record.verdict}\tq={a.quality_index:.3f}\t"
                   f"{a.top_class} {a.top_permille / 10:.1f}%")


def run_finite(
    src, inspector: Inspector, limit: int | None, as_json: bool,
    watch: Callable[[], None] | None = None,
) -> None:
    """`watch` (the gate check) runs before every batch; it stops the run by raising."""
    src.open()
    try:
        done = 0
        while limit is None or done < limit:
            if watch is not None:
                watch()
            frames = read_frames(src, BATCH if limit is None else min(BATCH, limit - done))
            if not frames:
                return
            for r in inspector.inspect(frames):
                emit(r, as_json)
            done += len(frames)
    finally:
        src.close()


def run_live(
    src, inspector: Inspector, limit: int | None, as_json: bool, timeout: float,
    watch: Callable[[], None] | None = None,
) -> int:
    """The number of frames dropped; `watch` runs every WATCH_EVERY_S and stops by raising."""
    mailbox: Mailbox[Frame] = Mailbox()

    def status(s: SourceStatus) -> None:
        if s.state in ("lost", "failed"):
            click.echo(f"bcmlp: source {s.state}: {s.message}"
                       + (f" (retry {s.attempt} in {s.delay_s:.1f} s)" if s.state == "lost" else ""),
                       err=True)

    cap = Capture(src, mailbox, status, max_attempts=5)
    cap.start()
    done = 0
    last = watched = time.monotonic()
    try:
        while limit is None or done < limit:
            if watch is not None and time.monotonic() - watched >= WATCH_EVERY_S:
                watch()
                watched = time.monotonic()
            f = mailbox.get(timeout=0.2)
            if f is None:
                if mailbox.closed and not cap.running:
                    break
                if time.monotonic() - last > timeout:
                    click.echo(f"bcmlp: no frame for {timeout:.0f} s, stopping", err=True)
                    break
                continue
            last = time.monotonic()
            for r in inspector.inspect([f]):
                emit(r, as_json)
            done += 1
    finally:
        cap.stop()
    return mailbox.dropped
