"""Bad configuration ends with one clear line and exit status 1, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SLOTWISE = [sys.executable, "-m", "slotwise.cli"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    environment.pop("DATABASE_URL", None)
    environment.update(env)
    return subprocess.run(
        [*SLOTWISE, *args], capture_output=True, text=True, env=environment, timeout=60
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slotwise: error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        result = _run(["migrate"], DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/x")
    _assert_one_line_error(result, "cannot connect to the database")


def test_unusable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _run(["migrate"], SLOTWISE_DATA_DIR=str(blocker / "data"))
    _assert_one_line_error(result, "cannot use data directory")


def test_port_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = _run(["serve", "--port", str(port)], DATABASE_URL="postgresql://x@127.0.0.1:1/x")
    _assert_one_line_error(result, "already in use")


def test_production_refuses_the_default_secret() -> None:
    result = _run(["migrate"], SLOTWISE_ENVIRONMENT="production")
    _assert_one_line_error(result, "SLOTWISE_SECRET_KEY")


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["demo", "--help"]])
def test_help_works(args: list[str]) -> None:
    result = _run(args)
    assert result.returncode == 0
    assert "usage: slotwise" in result.stdout
