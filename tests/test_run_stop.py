"""run.py's Ctrl-C: every process the local instance started ends, grandchildren included.

A gunicorn worker blocked in a request once outlived its master (killed after the grace
period) and kept the port; run.py now ends each child's whole process group."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A parent that exits on SIGTERM, and a grandchild that ignores it (a worker stuck in a request).
STUBBORN_FAMILY = """
import signal, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"],
    stdout=subprocess.PIPE)
grandchild.stdout.readline()
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def load_run_py():
    spec = importlib.util.spec_from_file_location("optiserve_run", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed process not yet reaped by its (dead) parent is a zombie: gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][0] != "Z"


def test_stop_ends_a_grandchild_that_ignores_sigterm():
    run_py = load_run_py()
    child = subprocess.Popen([sys.executable, "-c", STUBBORN_FAMILY], stdout=subprocess.PIPE,
                             start_new_session=True, text=True)
    grandchild = int(child.stdout.readline())
    assert alive(grandchild)

    try:
        started = time.monotonic()
        run_py.stop_children([child], grace=2)

        assert child.poll() is not None
        deadline = time.monotonic() + 5
        while alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(grandchild), "the grandchild outlived run.py's stop"
        assert time.monotonic() - started < 8
    finally:  # a failing run leaves nothing sleeping behind
        for pid in (grandchild, child.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
