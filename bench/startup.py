"""Start-up time of the embedded PostgreSQL, cold (initdb, then start) and warm (existing
data dir), median of 5, each in a fresh process (the server stops when it exits).

Run: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import machine

PROBE = """
import sys, time
from pathlib import Path
from slotwise.db.embedded import start_embedded
started = time.perf_counter()
handle = start_embedded(Path(sys.argv[1]))
print(time.perf_counter() - started)
"""


def _start(data_dir: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _show(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main(rounds: int = 5) -> None:
    print(f"machine: {machine()}")
    cold: list[float] = []
    warm: list[float] = []
    with tempfile.TemporaryDirectory(prefix="slotwise-bench-", dir="/tmp") as tmp:
        for index in range(rounds):
            data_dir = Path(tmp) / f"cold-{index}"
            cold.append(_start(data_dir))
            warm.append(_start(data_dir))
    print(f"embedded PostgreSQL start, median of {rounds}:")
    print(f"  cold (initdb + start): {statistics.median(cold):.2f} s  (all: {_show(cold)})")
    print(f"  warm (existing data):  {statistics.median(warm):.2f} s  (all: {_show(warm)})")


if __name__ == "__main__":
    main()
