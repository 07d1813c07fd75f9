#!/usr/bin/python3
"""Measures the tray app as a user feels it (not a test: prints figures).

- start → tray ready: from exec to the moment the tray icon registers with
  a StatusNotifier host on the session bus (what a desktop panel sees);
- start → tray ready with the window open (`--open`);
- idle CPU: CPU time the app and its threads use over 10 s of idleness
  after start, with two servers listed (the watchers wait on inotify;
  nothing polls);
- idle memory: the app's RSS then (the webview processes, when a window is
  open, are separate and gone once it is closed).

Run it inside a D-Bus session with an X server, e.g.

    xvfb-run -a dbus-run-session -- /usr/bin/python3 tests/bench/app.py target/release/tether-app

Each figure is the median of --runs starts (default 5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "tests" / "e2e" / "sni_host.py"
TICKS = os.sysconf("SC_CLK_TCK")


class Host:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(["/usr/bin/python3", str(HOST)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def items(self) -> list:
        self.proc.stdin.write("items\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_run(app: str, extra: list[str], idle: float) -> dict:
    host = Host()
    home = tempfile.mkdtemp(prefix="tether-app-bench-")
    env = {**os.environ, "TETHER_HOME": home, "HOME": home, "NO_AT_BRIDGE": "1"}
    # Two servers, so the menu, the watchers and the status reads have work.
    tether = str(Path(app).parent / "tether")
    for name in ("docs", "wiki"):
        subprocess.run([tether, "add", name, f"http://127.0.0.1:9/{name}", "--no-auth"], env=env, capture_output=True, check=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([app, *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not host.items():
            if proc.poll() is not None:
                raise SystemExit(f"the app exited with {proc.returncode}")
            if time.perf_counter() - t0 > 30:
                raise SystemExit("no tray icon within 30 s")
            time.sleep(0.002)
        ready = time.perf_counter() - t0
        time.sleep(2)  # let start-up settle
        before = cpu_seconds(proc.pid)
        time.sleep(idle)
        used = cpu_seconds(proc.pid) - before
        return {"ready_ms": ready * 1000, "idle_cpu_pct": used / idle * 100, "rss_mb": rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(10)
        host.close()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("app", nargs="?", default=str(ROOT / "target" / "release" / "tether-app"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--idle", type=float, default=10.0)
    a = p.parse_args()
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("run inside an X server and a D-Bus session: xvfb-run -a dbus-run-session -- /usr/bin/python3 tests/bench/app.py", file=sys.stderr)
        return 2
    for label, extra in (("tray only", []), ("tray + window", ["--open"])):
        runs = [one_run(a.app, extra, a.idle) for _ in range(a.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{label:14}  start→tray ready {med['ready_ms']:7.1f} ms   idle CPU {med['idle_cpu_pct']:5.2f} %   RSS {med['rss_mb']:6.1f} MB   (median of {a.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
