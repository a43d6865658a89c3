"""Qt that cannot start (missing xcb libraries, no display, a display nobody answers) is one
line on stderr and exit 2, found before anything starts (app/gui/qt_probe.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import UserError
from app.gui import qt_probe

REPO = Path(__file__).resolve().parents[2]
BCMLP = [sys.executable, "-m", "app"]

LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f15)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f15)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f15)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f15)
"""

QT_XCB_LOAD_FAILED = """\
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized. Reinstalling the application may fix this problem.

Available platform plugins are: minimal, linuxfb, offscreen, xcb, wayland, eglfs, vnc.
"""


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- ldd parsing and the package map --------------------------------------------------------

def test_ldd_not_found_lines_each_once_in_order():
    assert qt_probe.parse_ldd_missing(LDD_MISSING) == [
        "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert qt_probe.parse_ldd_missing("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_missing_libraries_give_the_apt_get_line():
    msg = qt_probe.missing_libraries_message(qt_probe.parse_ldd_missing(LDD_MISSING))
    assert "\n" not in msg
    assert "missing libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in msg
    assert msg.endswith("sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1")


def test_one_package_for_two_libraries_and_a_hint_for_unknown_ones():
    msg = qt_probe.missing_libraries_message(
        ["libglib-2.0.so.0", "libgthread-2.0.so.0", "libfoo.so.7"])
    assert "sudo apt-get install -y libglib2.0-0;" in msg
    assert "libfoo.so.7 with `apt-file search`" in msg and "\n" not in msg


def test_dlopened_cursor_library_is_checked_when_ldd_does_not_list_it(monkeypatch, tmp_path):
    plugin = tmp_path / "PySide6/Qt/plugins/platforms/libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.touch()
    ldd = "\tlibxcb-icccm.so.4 => not found\n\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n"
    monkeypatch.setattr(qt_probe, "xcb_plugin_path", lambda: plugin)
    monkeypatch.setattr(qt_probe.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, ldd, ""))
    monkeypatch.setattr(qt_probe, "_findable", lambda soname, qt_lib_dir: False)
    assert qt_probe.missing_xcb_libraries() == ["libxcb-icccm.so.4", "libxcb-cursor.so.0"]
    monkeypatch.setattr(qt_probe, "_findable", lambda soname, qt_lib_dir: True)
    assert qt_probe.missing_xcb_libraries() == ["libxcb-icccm.so.4"]


def test_the_real_plugin_is_found_and_its_missing_libraries_are_known():
    plugin = qt_probe.xcb_plugin_path()
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("no xcb plugin or no ldd here")
    for soname in qt_probe.missing_xcb_libraries():
        assert soname in qt_probe.LIB_PACKAGES, soname


def _deb_depends(tmp_path: Path) -> set[str]:
    """The Depends of a .deb built by packaging/build_deb.sh from a stand-in bundle."""
    fake = tmp_path / "dist" / "bcmlp" / "bcmlp"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    deb = subprocess.run(["bash", str(REPO / "packaging" / "build_deb.sh"), str(tmp_path / "dist"),
                          str(tmp_path / "out")], capture_output=True, text=True, check=True).stdout
    line = subprocess.run(["dpkg-deb", "-f", deb.strip(), "Depends"], capture_output=True,
                          text=True, check=True).stdout
    return {d.strip().split(" ")[0] for d in line.split(",")}


def test_deb_depends_covers_the_xcb_plugin_and_qt_libraries(tmp_path):
    """Every library the xcb plugin and the core Qt libraries link to (outside the bundle) is
    in the map, and its package is in the Depends of the .deb that build_deb.sh makes."""
    plugin = qt_probe.xcb_plugin_path()
    if plugin is None or not all(shutil.which(t) for t in ("readelf", "dpkg-deb", "dpkg")):
        pytest.skip("no xcb plugin, readelf or dpkg-deb here")
    depends = _deb_depends(tmp_path)
    lib = plugin.parents[2] / "lib"
    needed = set()
    for elf in [plugin] + [lib / f"libQt6{m}.so.6" for m in
                           ("Core", "Gui", "Widgets", "DBus", "XcbQpa", "WaylandClient")]:
        out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", out))
    system = {s for s in needed if not s.startswith(("libQt6", "libicu", "ld-linux"))}
    system -= {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"}  # libc6
    unmapped = sorted(s for s in system if s not in qt_probe.LIB_PACKAGES)
    assert not unmapped
    assert sorted({qt_probe.LIB_PACKAGES[s] for s in system} - depends) == []
    assert "libc6" in depends


# -- Qt's messages -> one line ----------------------------------------------------------------

def test_xcb_plugin_that_does_not_load_names_what_ldd_misses(monkeypatch):
    monkeypatch.setattr(qt_probe, "missing_xcb_libraries", lambda: ["libxcb-keysyms.so.1"])
    msg = qt_probe.explain_failure(QT_XCB_LOAD_FAILED, 3, {})
    assert msg == ("Qt cannot start its xcb platform plugin: missing libxcb-keysyms.so.1; "
                   "install with: sudo apt-get install -y libxcb-keysyms1")


def test_xcb_plugin_that_does_not_load_for_another_reason(monkeypatch):
    monkeypatch.setattr(qt_probe, "missing_xcb_libraries", lambda: [])
    msg = qt_probe.explain_failure(QT_XCB_LOAD_FAILED, 3, {})
    assert msg.startswith('Qt could not load its "xcb" platform plugin') and "QT_DEBUG_PLUGINS=1" in msg


def test_display_that_cannot_be_connected():
    msg = qt_probe.explain_failure("qt.qpa.xcb: could not connect to display :87\n" +
                                   QT_XCB_LOAD_FAILED, 3, {"DISPLAY": ":87"})
    assert msg.startswith("Qt cannot connect to the X display :87") and "xvfb-run -a" in msg
    msg = qt_probe.explain_failure("qt.qpa.xcb: could not connect to display \n", 3, {})
    assert msg == "Qt cannot connect to an X display: DISPLAY is unset"


def test_unknown_platform_and_anything_else():
    msg = qt_probe.explain_failure(
        'qt.qpa.plugin: Could not find the Qt platform plugin "bogus" in ""\n'
        "Available platform plugins are: minimal, offscreen, xcb.\n", 3, {})
    assert msg == 'Qt has no platform plugin "bogus" (available: minimal, offscreen, xcb): check QT_QPA_PLATFORM'
    assert qt_probe.explain_failure("noise\nqt.qpa.wayland: no wl_display\n", 3, {}) == \
        "Qt cannot start: qt.qpa.wayland: no wl_display"
    assert qt_probe.explain_failure("", -6, {}) == "Qt cannot start: exit status -6"


# -- when the check runs ------------------------------------------------------------------------

@pytest.fixture
def no_child(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("the probe started a process")

    monkeypatch.setattr(qt_probe.subprocess, "run", fail)
    monkeypatch.setattr(qt_probe, "_qt_already_running", lambda: False)


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "offscreen:fontengine=freetype"])
def test_offscreen_and_minimal_are_not_probed(monkeypatch, no_child, platform):
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    monkeypatch.delenv("DISPLAY", raising=False)
    qt_probe.ensure_qt_can_start()


def test_no_display_is_said_without_starting_anything(monkeypatch, no_child):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "BCMLP_SKIP_QT_PROBE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserError) as err:
        qt_probe.ensure_qt_can_start("bcmlp demo")
    assert str(err.value) == qt_probe.no_display_message("bcmlp demo")
    assert "no display found (DISPLAY and WAYLAND_DISPLAY are unset)" in str(err.value)
    assert "`xvfb-run -a bcmlp demo`" in str(err.value)


def test_a_display_that_hangs_is_one_line(monkeypatch):
    def hang(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", "otherhost:0")
    monkeypatch.setattr(qt_probe, "_qt_already_running", lambda: False)
    monkeypatch.setattr(qt_probe.subprocess, "run", hang)
    with pytest.raises(UserError, match=r"^Qt did not start within 20 s: the display otherhost:0"):
        qt_probe.ensure_qt_can_start()


def test_the_child_is_this_interpreter_or_the_frozen_binary(monkeypatch):
    assert qt_probe._probe_command() == [sys.executable, "-m", "app.gui.qt_probe"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert qt_probe._probe_command() == [sys.executable, "gui", "--qt-probe"]


# -- end to end: the real command line with a display nobody serves ---------------------------

def _xcb_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "BCMLP_SKIP_QT_PROBE")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=":87", HOME=str(tmp_path), XAUTHORITY="/nonexistent")
    return env


def _expected_reason() -> str:
    """What this machine lacks decides the line: its missing libraries, else the display."""
    missing = qt_probe.missing_xcb_libraries()
    if missing:
        return qt_probe.missing_libraries_message(missing)
    return "Qt cannot connect to the X display :87"


def test_gui_with_a_display_nobody_serves(tmp_path):
    proc = subprocess.run(BCMLP + ["gui", "--data-dir", str(tmp_path / "d")], capture_output=True,
                          text=True, env=_xcb_env(tmp_path), timeout=120)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith("bcmlp: error: " + _expected_reason())


def test_the_frozen_apps_child_entry_reports_qts_reason(tmp_path):
    proc = subprocess.run(BCMLP + ["gui", "--qt-probe"], capture_output=True, text=True,
                          env=_xcb_env(tmp_path), timeout=120)
    assert proc.returncode == qt_probe.EXIT_FATAL
    assert qt_probe.explain_failure(proc.stderr, proc.returncode, {}).startswith(_expected_reason())


def _processes_naming(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(args)
    return found


def test_demo_with_a_display_nobody_serves_starts_no_node(tmp_path):
    demo = tmp_path / "demo"
    proc = subprocess.run(BCMLP + ["demo", "--data-dir", str(demo)], capture_output=True,
                          text=True, env=_xcb_env(tmp_path), timeout=120)
    line = _one_line(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith("bcmlp: error: " + _expected_reason())
    assert not demo.exists() or not any(demo.iterdir())  # no company folder, no node data
    assert _processes_naming(str(demo)) == []


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="no xvfb-run (apt-get install xvfb xauth)")
def test_no_false_alarm_under_xvfb(tmp_path):
    """A display that works passes the check; with libraries missing it names them instead."""
    env = _xcb_env(tmp_path)
    env.pop("DISPLAY")
    proc = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-c",
         "from app.gui.qt_probe import ensure_qt_can_start; ensure_qt_can_start()"],
        capture_output=True, text=True, env=env, timeout=120)
    missing = qt_probe.missing_xcb_libraries()
    if missing:
        assert proc.returncode != 0 and qt_probe.missing_libraries_message(missing) in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
