"""`bcmlp inspect`: headless inspection of a source, one JSON line (or text line) per record.

Finite sources (image folders, video files) without --rate are inspected frame by frame with
nothing dropped, in batches; live sources (cameras, streams) and paced replays go through the
capture thread and the latest-frame mailbox, so a slow inspection drops (and counts) frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from app.commands.common import data_dir_option, json_option
from app.commands.inspection_options import accept_options, device_option
from app.errors import UserError
from app.paths import open_data_dir


def gate_watch(dd, weights: Path, accept, inspector_for: Callable[[Any], Any]
               ) -> tuple[Any, Callable[[], None]]:
    """A station whose data dir holds a ledger inspects only with a model that passes the trust
    gate at the ledger head. Returns (the inspector, the check to call between frames): the
    model is loaded from the very bytes whose digest was judged (`StationGate.admit`); the check
    judges again at every new block, with the weights file read afresh. A refusal or any error
    of the gate stops the run (exit 1); changed weights that pass are swapped in (judged first).
    """
    from app.station.model_gate import GateRefused, StationGate

    gate = StationGate(dd, weights, accept)
    admitted = gate.admit()
    inspector = inspector_for(admitted)

    def check() -> None:
        try:
            st = gate.poll()
        except Exception as exc:  # noqa: BLE001 - fail closed: the run stops with the reason
            raise GateRefused(f"gate error: {exc}") from None
        if st is None:
            return
        if st.get("active") is None:
            reasons = "; ".join((st.get("verdict") or {}).get("reasons", [])) or st.get("message", "")
            raise GateRefused(f"the model does not pass the trust gate at height {st['height']}: {reasons}")
        if st.get("weights_sha256") != inspector.engine.loaded.weights_sha256:
            new = gate.admit()  # read, judged and loaded from one buffer before the swap
            swap_model(inspector, new)
            click.echo(f"bcmlp: the model file changed; its new weights pass the trust gate "
                       f"(certificate {new.cert_id[:16]}), now inspecting with them", err=True)

    return inspector, check


def swap_model(inspector, admitted) -> None:
    """Inspect on with the admitted model (between batches, on the inspecting thread)."""
    from inspection.engine import InferenceEngine

    engine = inspector.engine
    inspector.engine = InferenceEngine(admitted.loaded, engine.device.type, engine.max_batch,
                                       engine.threads)
    inspector.model_cert_id = admitted.cert_id


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
@accept_options
@json_option
@data_dir_option
def inspect_cmd(source, model_path, order_file, order_id, params_csv, limit, rate, loop, device,
                timeout, no_store, accept_orgs, pin_cert, as_json, data_dir) -> None:
    """Inspect workpieces from a source headless; prints one record per line."""
    from app.station import services as svc
    from app.station.headless_run import run_finite, run_live
    from inspection.errors import SourceError
    from inspection.sources import open_source

    order = svc.pick_order(svc.orders(order_file), order_id)
    dd = None if no_store else open_data_dir(data_dir)
    watch = None
    if dd is not None and dd.genesis_file.exists() and dd.ledger_db.exists():
        from app.services.ledger import require_cert_id
        from app.station.model_gate import station_acceptance

        pin = require_cert_id(dd, pin_cert) if pin_cert else None
        accept = station_acceptance(dd, pin, accept_orgs)

        def inspector_for(admitted):
            insp = svc.inspector(dd, admitted.loaded, order, device, params_csv)
            insp.model_cert_id = admitted.cert_id
            return insp

        inspector, watch = gate_watch(dd, Path(model_path) if model_path else svc.BUNDLED_MODEL,
                                      accept, inspector_for)
    else:
        if pin_cert or accept_orgs:
            raise UserError("--pin-cert and --accept-org need a data dir that holds a ledger")
        inspector = svc.inspector(dd, svc.model(model_path), order, device, params_csv)
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
