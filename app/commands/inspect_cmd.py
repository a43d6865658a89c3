"""`bcmlp inspect`: headless inspection of a source, one JSON line (or text line) per record.

Finite sources (image folders, video files) without --rate are inspected frame by frame with
nothing dropped, in batches; live sources (cameras, streams) and paced replays go through the
capture thread and the latest-frame mailbox, so a slow inspection drops (and counts) frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from app.commands.common import data_dir_option, json_option
from app.commands.inspection_options import device_option
from app.paths import open_data_dir


def gate_watch(dd, weights: Path) -> Callable[[], None]:
    """A station whose data dir holds a ledger inspects only with a model that passes the trust
    gate at the ledger head: checked now, and the returned check, called between frames, judges
    again at every new block (a revocation or a trust drop stops the run, exit 1)."""
    from app.errors import CheckFailed
    from app.station.model_gate import StationGate

    gate = StationGate(dd, weights)

    def check() -> None:
        st = gate.poll()
        if st is not None and st.get("active") is None:
            reasons = "; ".join((st.get("verdict") or {}).get("reasons", [])) or st.get("message", "")
            raise CheckFailed(f"the model does not pass the trust gate at height {st['height']}: {reasons}")

    check()
    return check


@click.command("inspect")
@click.option("--source", "source", required=True,
              help="camera:N, rtsp://..., http://..., a video file, or a folder of images.")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="MODEL.safetensors (default: the bundled NEU model).")
@click.option("--order", "order_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Orders file (.json or .csv; default: the bundled sample orders).")
@click.option("--order-id", default=None, help="Which order of the file (default: the first).")
@click.option("--params", "params_csv", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Process/tool parameters CSV keyed by workpiece_id.")
@click.option("--limit", type=click.IntRange(1, None), default=None, help="Stop after N frames.")
@click.option("--rate", type=click.FloatRange(0, 1000), default=None,
              help="Replay rate in frames/s for folders and video files (default: unpaced).")
@click.option("--loop", is_flag=True, help="Start a folder or video over at its end.")
@device_option
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Live sources: stop after this many seconds without a frame.")
@click.option("--no-store", is_flag=True, help="Do not keep records and images in the data dir.")
@json_option
@data_dir_option
def inspect_cmd(source, model_path, order_file, order_id, params_csv, limit, rate, loop, device,
                timeout, no_store, as_json, data_dir) -> None:
    """Inspect workpieces from a source headless; prints one record per line."""
    from app.station import services as svc
    from app.station.headless_run import run_finite, run_live
    from inspection.errors import SourceError
    from inspection.sources import open_source

    loaded = svc.model(model_path)
    order = svc.pick_order(svc.orders(order_file), order_id)
    dd = None if no_store else open_data_dir(data_dir)
    watch = None
    if dd is not None and dd.genesis_file.exists() and dd.ledger_db.exists():
        watch = gate_watch(dd, Path(model_path) if model_path else svc.BUNDLED_MODEL)
    inspector = svc.inspector(dd, loaded, order, device, params_csv)
    src = open_source(source, rate=rate or None, loop=loop)
    paced = src.live or bool(rate)  # through the capture thread and the mailbox
    if not paced and loop and limit is None:
        raise SourceError("--loop without --rate needs --limit")
    if paced:
        src.open()  # a missing camera or dead URL is a clear error right away
        src.close()
    dropped = 0
    try:
        if paced:
            dropped = run_live(src, inspector, limit, as_json, timeout, watch)
        else:
            run_finite(src, inspector, limit, as_json, watch)
    finally:  # also when the gate stops the run: what was inspected is kept and counted
        c = inspector.counters
        click.echo(f"bcmlp: inspected {c.inspected} (OK {c.ok}, NOK {c.nok}), bad frames {c.bad}, "
                   f"dropped {dropped}", err=True)
