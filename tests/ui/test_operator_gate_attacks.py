"""The Operator page and its gate under attack (issue 14): a gate poll that raises refuses the
model (fail closed, the reason on the badge); weights swapped on disk after the gate passed are
never run; a file changed to other certified bytes is judged before inspection swaps to it."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.gui.inspection_pages import OperatorServices, attach_station_gate
from tests.app.station.test_station_attacks import Station, sha
from tests.conftest import SCREENSHOTS
from tests.support.inspection_data import SAMPLES
from ui.certificates.gate_badge import GateBadge, GatePoller, gate_status
from ui.operator.page import OperatorPage

PASSING = {"height": 5, "active": {"cert_id": "c" * 64},
           "verdict": {"cert_id": "c" * 64, "certs": [], "reasons": []}, "message": "ok"}


def test_a_raising_poll_is_a_refusal():
    def poll():
        raise OSError("database is locked")

    st = gate_status(poll)
    assert st["active"] is None and st["error"] == "gate error: database is locked"
    assert "gate error: database is locked" in st["message"]


def test_operator_stops_and_shows_the_gate_error(qtbot, tmp_path):
    """Inspection runs while the gate passes; then the poll raises (ledger unreadable): the page
    stops inspecting, Start stays disabled and the badge says why (the old page only wrote a
    status-bar message and kept inspecting)."""
    from app.paths import DataDir

    page = OperatorPage(OperatorServices(DataDir(tmp_path), device="cpu"))
    qtbot.addWidget(page)
    feed: list = [PASSING]

    def poll():
        if not feed:
            return None
        item = feed.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    badge = GateBadge()
    page.attach_gate(badge, GatePoller(poll, 0.02))
    try:
        qtbot.waitUntil(lambda: badge.passed is True, timeout=5000)
        page.source.setCurrentText(str(SAMPLES))
        page.rate.setValue(30)
        assert page.start()
        qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 2, timeout=30_000)
        feed.append(OSError("database disk image is malformed"))
        qtbot.waitUntil(lambda: badge.passed is False, timeout=5000)
        qtbot.waitUntil(lambda: not page.controller.running, timeout=5000)
        assert "ERROR" in badge.state.text()
        assert "gate error: database disk image is malformed" in badge.detail.text()
        assert "gate error" in page.banner.text() and not page.start_button.isEnabled()
        assert not page.start()
        shot = QWidget()  # the badge above the page, as the Operator perspective shows them
        qtbot.addWidget(shot)
        lay = QVBoxLayout(shot)
        lay.addWidget(badge)
        lay.addWidget(page)
        shot.resize(1100, 760)
        shot.show()
        qtbot.wait(200)
        shot.grab().save(str(SCREENSHOTS / "operator-gate-error.png"))
    finally:
        page.shutdown()


def test_unknown_gate_state_refuses(qtbot, tmp_path):
    from app.paths import DataDir

    page = OperatorPage(OperatorServices(DataDir(tmp_path), device="cpu"))
    qtbot.addWidget(page)
    badge = GateBadge()
    qtbot.addWidget(badge)
    badge.set_status({"height": 3})  # no verdict, no active model: not a pass
    assert badge.passed is False and "ERROR" in badge.state.text()
    page._on_gate_status({"height": 3, "verdict": {}})
    assert not page.start_button.isEnabled()
    page.shutdown()


def _station_page(qtbot, st: Station) -> OperatorPage:
    """The Operator page of the station's data dir and weights, its gate attached (the caller
    shuts it down)."""
    page = OperatorPage(OperatorServices(st.dd, st.weights, "cpu"))
    qtbot.addWidget(page)
    attach_station_gate(page, st.dd, st.weights)
    return page


def _ready_to_start(qtbot, page: OperatorPage) -> None:
    """The gate passed (Start enabled); the sample images at 30 fps are the source."""
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=20_000)
    page.source.setCurrentText(str(SAMPLES))
    page.rate.setValue(30)


def test_operator_never_runs_weights_swapped_after_the_gate_passed(qtbot, tmp_path):
    """The badge passed the certified file; the attacker swaps in other weights and Start is
    pressed: refused ('cannot start', the trust gate's reason), nothing runs. Once the file is
    put back the gate passes again (without waiting for a block) and Start runs the certified
    bytes, under their certificate."""
    st = Station(tmp_path)
    st.w.block()
    page = _station_page(qtbot, st)
    try:
        _ready_to_start(qtbot, page)
        st.swap()
        assert page.start()  # prepared off the GUI thread: the refusal comes back as a message
        # the refusal of the bytes read at Start reaches the badge and the banner too (whichever
        # arrives first ends the start)
        qtbot.waitUntil(lambda: "refused" in page.banner.text().lower(), timeout=20_000)
        assert "no active model certificate" in page.banner.text()
        qtbot.waitUntil(lambda: not page.controller.engaged, timeout=20_000)
        assert page.controller.snapshot().inspected == 0 and not page.start_button.isEnabled()
        st.restore()
        qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=10_000)
        assert page.start()
        qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 2, timeout=30_000)
        latest = page.controller.snapshot().latest.record
        assert latest.model_id == sha(st.good) and latest.model_cert_id == st.ids["model"]
    finally:
        page.shutdown()


def test_operator_swaps_to_changed_weights_only_after_judging_them(qtbot, tmp_path):
    """The file is replaced by other weights that a trusted trainer certified too: at the next
    block the station judges the new bytes, and inspection restarts on exactly those bytes."""
    from bedrock.canonical import digest_hex
    from ledger_core.attest.manifest import build_manifest
    from tests.support import cert_world as cw

    st = Station(tmp_path)
    st.w.block()
    page = _station_page(qtbot, st)
    try:
        _ready_to_start(qtbot, page)
        assert page.start()
        qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 2, timeout=30_000)
        assert page.controller.model_sha256 == sha(st.good)
        st.swap()
        new = st.w.issue("trainer", "model", cw.model_predicate(digest_hex(cw.PIPELINE_CONFIG)),
                         [st.ids["dataset"], st.ids["labels"], st.ids["pipeline"], st.ids["model"]],
                         digest=build_manifest(st.weights).digest)
        qtbot.waitUntil(lambda: page.controller.model_sha256 == sha(st.evil), timeout=30_000)
        qtbot.waitUntil(lambda: page.controller.snapshot().inspected >= 2, timeout=30_000)
        assert page.controller.snapshot().latest.record.model_cert_id == new
    finally:
        page.shutdown()


def test_unreadable_station_configuration_refuses(qtbot, tmp_path):
    from app.gui.inspection_pages import operator_page

    st = Station(tmp_path)
    st.w.block()
    (tmp_path / "station.json").write_text("{")
    page = operator_page(st.dd)
    qtbot.addWidget(page)
    try:
        qtbot.waitUntil(lambda: "refused" in page.banner.text().lower(), timeout=20_000)
        assert "gate error: station configuration" in page.banner.text()
        assert not page.start_button.isEnabled()
    finally:
        page.shutdown()
