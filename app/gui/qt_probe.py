"""Check, before anything else starts, that Qt can start its platform plugin here; otherwise
raise UserError with one line that says why (no display, missing libraries and the apt-get
line that installs them, a display that cannot be connected) instead of letting Qt abort.

The check starts a QGuiApplication in a short child process (this interpreter, or the frozen
binary) and, when the xcb plugin does not load, names its missing libraries from `ldd`.
Skipped for QT_QPA_PLATFORM=offscreen/minimal, off Linux, and with BCMLP_SKIP_QT_PROBE=1.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from app.errors import UserError

TIMEOUT_S = 20.0
EXIT_FATAL = 3  # the child's exit status when Qt reported a fatal error
SKIPPED_PLATFORMS = {"offscreen", "minimal"}

# Shared libraries of the xcb platform plugin and the bundle's Qt libraries -> the Debian /
# Ubuntu package that ships them (from `ldd` of libqxcb.so and `dpkg -S` on Debian 12).
LIB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpng16.so.16": "libpng16-16",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libexpat.so.1": "libexpat1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}
# Qt 6.5+ needs it for xcb; some builds dlopen it, so ldd does not always show it
CURSOR_LIB = "libxcb-cursor.so.0"

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


def parse_ldd_missing(ldd_output: str) -> list[str]:
    """The libraries `ldd` reports as 'not found', each once, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def missing_libraries_message(sonames: list[str]) -> str:
    """One line naming the missing libraries and the apt-get line that installs them."""
    packages = list(dict.fromkeys(LIB_PACKAGES[s] for s in sonames if s in LIB_PACKAGES))
    unknown = [s for s in sonames if s not in LIB_PACKAGES]
    fixes = []
    if packages:
        fixes.append(f"sudo apt-get install -y {' '.join(packages)}")
    if unknown:
        fixes.append(f"find the package of {', '.join(unknown)} with `apt-file search`")
    return (f"Qt cannot start its xcb platform plugin: missing {', '.join(sonames)}; "
            f"install with: {'; '.join(fixes)}")


def no_display_message(command: str) -> str:
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset): run on a desktop, "
            f"or under `xvfb-run -a {command}`")


def xcb_plugin_path() -> Path | None:
    """libqxcb.so of the PySide6 in use (found without importing Qt), or None."""
    roots = []
    spec = importlib.util.find_spec("PySide6")
    if spec and spec.submodule_search_locations:
        roots += [Path(p) for p in spec.submodule_search_locations]
    if hasattr(sys, "_MEIPASS"):
        roots.append(Path(sys._MEIPASS) / "PySide6")
    for root in roots:
        plugin = root / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def _findable(soname: str, qt_lib_dir: Path | None) -> bool:
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    if qt_lib_dir is not None:
        dirs.append(str(qt_lib_dir))
    if any(Path(d, soname).exists() for d in dirs):
        return True
    found = ctypes.util.find_library(soname.removeprefix("lib").split(".so")[0])
    return found is not None and found.startswith(soname.split(".so")[0] + ".so")


def missing_xcb_libraries() -> list[str]:
    """The shared libraries the xcb plugin needs and the loader cannot find ([] if unknown)."""
    plugin = xcb_plugin_path()
    if plugin is None:
        return []
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    missing = parse_ldd_missing(out)
    if CURSOR_LIB not in out and not _findable(CURSOR_LIB, plugin.parents[2] / "lib"):
        missing.append(CURSOR_LIB)
    return missing


def explain_failure(stderr: str, returncode: int, env: dict[str, str]) -> str:
    """Qt's messages from a child that could not start -> one line for the user."""
    text = stderr.replace("\r", "")
    display = re.search(r"could not connect to display ?(\S*)", text)
    if display:
        name = display.group(1) or env.get("DISPLAY", "")
        if not name:
            return "Qt cannot connect to an X display: DISPLAY is unset"
        return (f"Qt cannot connect to the X display {name}: no X server answers there "
                "(run on a desktop, or under `xvfb-run -a`)")
    load = re.search(r'Could not load the Qt platform plugin "([^"]*)"', text)
    if load and load.group(1) == "xcb":
        # Qt's own hint names xcb-cursor0 whatever is missing: ldd says what really is
        missing = missing_xcb_libraries()
        if missing:
            return missing_libraries_message(missing)
    if load:
        return (f'Qt could not load its "{load.group(1)}" platform plugin; '
                "run with QT_DEBUG_PLUGINS=1 to see why")
    absent = re.search(r'Could not find the Qt platform plugin "([^"]*)"', text)
    if absent:
        available = re.search(r"Available platform plugins are: (.*)", text)
        extra = f" (available: {available.group(1).strip().rstrip('.')})" if available else ""
        return f'Qt has no platform plugin "{absent.group(1)}"{extra}: check QT_QPA_PLATFORM'
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    qpa = [ln for ln in lines if ln.startswith("qt.qpa")]
    detail = (qpa or lines or [f"exit status {returncode}"])[0]
    return f"Qt cannot start: {detail}"


def _probe_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "gui", "--qt-probe"]
    return [sys.executable, "-m", "app.gui.qt_probe"]


def _qt_already_running() -> bool:
    gui = sys.modules.get("PySide6.QtGui")
    return gui is not None and gui.QGuiApplication.instance() is not None


def ensure_qt_can_start(command: str = "bcmlp gui") -> None:
    """Raise UserError (exit 2) with one line unless Qt can start its platform plugin here.
    `command` is what the no-display hint suggests running under xvfb-run."""
    env = dict(os.environ)
    platform = re.split("[:;]", env.get("QT_QPA_PLATFORM", ""))[0].strip().lower()
    if (not sys.platform.startswith("linux") or platform in SKIPPED_PLATFORMS
            or env.get("BCMLP_SKIP_QT_PROBE") == "1" or _qt_already_running()):
        return
    if not platform and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        raise UserError(no_display_message(command))
    # Qt logs to stderr, not to the journal, so that its reason can be read back
    env.update(QT_FORCE_STDERR_LOGGING="1", QT_ASSUME_STDERR_HAS_CONSOLE="1")
    try:
        proc = subprocess.run(_probe_command(), capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        where = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or "?"
        raise UserError(f"Qt did not start within {TIMEOUT_S:g} s: the display {where} does "
                        "not answer") from None
    except OSError as exc:
        raise UserError(f"cannot run the Qt start check: {exc}") from None
    if proc.returncode != 0:
        raise UserError(explain_failure(proc.stderr, proc.returncode, env))


def child_main() -> None:
    """In the child: start a QGuiApplication and exit 0, or exit EXIT_FATAL with Qt's messages
    on stderr (a fatal message exits here instead of aborting: no core dump)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtGui import QGuiApplication

    def handler(kind, context, message) -> None:
        category = context.category if context and context.category != "default" else ""
        sys.stderr.write(f"{category}: {message}\n" if category else message + "\n")
        sys.stderr.flush()
        if kind == QtMsgType.QtFatalMsg:
            os._exit(EXIT_FATAL)

    qInstallMessageHandler(handler)
    app = QGuiApplication(["bcmlp-qt-probe"])
    del app
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: nothing to clean up, and it is faster


if __name__ == "__main__":
    child_main()
