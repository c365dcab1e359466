"""The README's first command, for real: ``slotwise demo`` on a fresh embedded server
serves /readyz with the demo tenant, and SIGTERM stops the embedded server too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[str], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a readiness endpoint, bounded by the deadline
    raise AssertionError("server did not become ready")


def _running(pid: int) -> bool:
    """Alive and not a zombie (the postmaster's parent here may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


def test_demo_serves_and_stops_its_embedded_server_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    env.pop("DATABASE_URL", None)
    env.update(SLOTWISE_DATA_DIR=str(data_dir), SLOTWISE_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, "-m", "slotwise.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ok"
        pid_file = data_dir / "pgdata" / "postmaster.pid"
        assert pid_file.exists()
        postmaster = int(pid_file.read_text().splitlines()[0])
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        assert "Owner login:" in out
        assert not pid_file.exists()
        assert not _running(postmaster)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
