"""The demo's closing summary, read from each node's database after the nodes stopped: heights,
app hashes and what the pipeline and the operator station left on the chain."""

from __future__ import annotations

from typing import Any

from app.demo.consortium import Consortium
from app.demo.operator_station import Station
from app.demo.pipeline import PipelineIds
from ledger_core.attest.rules import LEDGER_RULES


def _nodes(cons: Consortium) -> tuple[dict[str, Any], int, dict[str, str | None]]:
    """Per node: height, app hash, transactions and state counts; the lowest height; and each
    node's app hash at that height."""
    from sqlalchemy import func, select

    from app.services.ledger import open_view
    from ledger_core.chain.store import tables as t

    nodes: dict[str, Any] = {}
    hashes: dict[str, str | None] = {}
    views = {k: open_view(m.dd) for k, m in cons.members.items()}
    try:
        for k, view in views.items():
            with view.store.engine.connect() as conn:
                n_tx = conn.execute(select(func.count()).select_from(t.txs)).scalar() or 0
            state = view.store.load_state(LEDGER_RULES)
            nodes[k] = {"height": state.height, "app_hash": state.app_hash, "transactions": n_tx,
                        "state": {name: len(list(view.live.keys(name))) for name in ("cert", "rating", "batch", "report")}}
        common = min(n["height"] for n in nodes.values())
        for k, view in views.items():
            blk = view.store.block(common)
            hashes[k] = None if blk is None else blk["header"]["app_hash"]
    finally:
        for view in views.values():
            view.close()
    return nodes, common, hashes


def summary(cons: Consortium, ids: PipelineIds | None, station: Station | None, duration: float) -> dict[str, Any]:
    """The JSON summary of `bcmlp demo`."""
    nodes, common, hashes = _nodes(cons)
    op_state = nodes["operator"]["state"]
    out: dict[str, Any] = {
        "data_dir": str(cons.root),
        "duration_s": round(duration, 1),
        "nodes": {k: {**{kk: v for kk, v in n.items() if kk != "state"},
                      "restarts": cons.members[k].restarts} for k, n in nodes.items()},
        "common_height": common,
        "app_hash_at_common_height": hashes["operator"],
        "nodes_agree": len(set(hashes.values())) == 1 and None not in hashes.values(),
        "transactions": nodes["operator"]["transactions"],
        "certificates": op_state["cert"],
        "ratings": op_state["rating"],
        "monitor_reports": op_state["report"],
        "anchored_batches": op_state["batch"],
        "inspections": 0,
        "anchored_records": 0,
        "gate": None,
        "seconds_to_first_verdict": None,
        "pipeline": None,
    }
    if ids is not None:
        out["pipeline"] = {"dataset": ids.dataset, "pipeline": ids.pipeline, "labels": ids.labels,
                           "model": ids.model, "ratings": ids.ratings, "monitor_report": ids.report}
    if station is not None:
        out.update(_station(cons, station))
    return out


def _station(cons: Consortium, station: Station) -> dict[str, Any]:
    from app.station import services as svc

    out: dict[str, Any] = {}
    records = svc.record_store(cons.members["operator"].dd)
    try:
        out["inspections"] = records.count()
    finally:
        records.engine.dispose()
    out["anchored_records"] = sum(b["count"] for b in station.batches)
    st = station.status
    out["gate"] = None if st is None else {
        "passed": st.active is not None, "height": st.height, "message": st.message,
        "model": None if st.active is None else st.active.cert_id}
    fv = station.first_verdict_s
    out["seconds_to_first_verdict"] = None if fv is None else round(fv, 2)
    if station.error:
        out["station_error"] = station.error
    return out
