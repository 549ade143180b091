#!/usr/bin/env python3
"""Gateway memory over time with clients that never read, next to normal ones.

    python bench/bench_gateway_memory.py [--entries 3000] [--normal 4] [--slow 4] [--subscribers 20]
                                         [--seconds 30] [--out bench/out] [--report bench/report]

Two phases on one ``openclaw gateway run`` (a store of ``--entries`` entries):

1. *normal only*: ``--normal`` clients loop ``sessions.list {limit: entries}``
   (reading every answer) and one client patches (each patch is a
   ``sessions.changed`` event), for ``--seconds``;
2. *with slow clients*: the same, plus ``--slow`` raw clients that finish the
   handshake, pipeline ``sessions.list`` and never read, and ``--subscribers``
   that subscribe and never read.

The Gateway's RSS (``/proc/<pid>/status``) and a prober's ``health`` latency
are sampled every 0.5 s. Writes ``bench/out/gateway_memory.{csv,json}``, the chart
``bench/report/gateway_memory.svg`` and ``bench/report/GATEWAY-MEMORY.md``;
the ratios divide phase 2 by phase 1 of the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from fault_support import free_port, make_state, rss_bytes  # noqa: E402
from gateway_support import TOKEN, handshake, request, start_gateway  # noqa: E402
from slow_client import RawClient  # noqa: E402


class Loop(threading.Thread):
    """A normal client: one request after another, every answer read."""

    def __init__(self, port: int, method: str, params: Any) -> None:
        super().__init__(daemon=True)
        self.ws, _ = handshake(port)
        self.method, self.params = method, params
        self.stop = threading.Event()
        self.count = 0
        self.failure: str | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                params = self.params(self.count) if callable(self.params) else self.params
                assert request(self.ws, self.method, params, timeout=60)["ok"]
                self.count += 1
        except Exception as exc:  # noqa: BLE001
            self.failure = repr(exc)


def sample(gw: Any, prober: Any, phase: str, seconds: float, t0: float, rows: list[dict[str, Any]]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        ok = request(prober, "health", timeout=60)["ok"]
        latency = time.monotonic() - started
        rows.append({"phase": phase, "t_s": round(time.monotonic() - t0, 2),
                     "rss_mib": round(rss_bytes(gw.proc.pid) / 2**20, 1),
                     "health_ms": round(latency * 1000, 1), "health_ok": ok})
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="oc-gw-mem-"))
    store = make_state(root, entries=args.entries)
    gw = start_gateway(store.parents[3], free_port())
    rows: list[dict[str, Any]] = []
    loops: list[Loop] = []
    raw: list[RawClient] = []
    listing = {"limit": args.entries}
    try:
        prober, _ = handshake(gw.port)
        request(prober, "sessions.list", listing, timeout=60)  # the store is loaded before we measure
        t0 = time.monotonic()
        sample(gw, prober, "idle", 2, t0, rows)
        loops = [Loop(gw.port, "sessions.list", listing) for _ in range(args.normal)]
        loops.append(Loop(gw.port, "sessions.patch",
                          lambda i: {"key": f"bench-{i % 500}", "label": f"bench {i}"}))
        for loop in loops:
            loop.start()
        sample(gw, prober, "normal", args.seconds, t0, rows)
        for _ in range(args.slow):
            client = RawClient(gw.port, token=TOKEN)
            client.pipeline("sessions.list", listing)
            raw.append(client)
        for _ in range(args.subscribers):
            client = RawClient(gw.port, token=TOKEN)
            client.send("sessions.subscribe")
            raw.append(client)
        sample(gw, prober, "with slow clients", args.seconds, t0, rows)
        failures = [loop.failure for loop in loops if loop.failure]
        counts = {"normal_requests": sum(loop.count for loop in loops[:-1]), "patches": loops[-1].count,
                  "slow_requests_sent": sum(c.sent for c in raw[:args.slow]),
                  "slow_clients_still_open": sum(c.is_open() for c in raw[:args.slow])}
    finally:
        for loop in loops:
            loop.stop.set()
        for loop in loops:
            loop.join(30)
        for client in raw:
            client.close()
        code = gw.stop()
    closed = sum("closing slow consumer" in line for line in gw.lines)

    def phase(name: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["phase"] == name]

    normal, slow = phase("normal"), phase("with slow clients")
    summary = {
        "entries": args.entries, "normal_clients": args.normal, "slow_clients": args.slow,
        "subscribers": args.subscribers, "seconds_per_phase": args.seconds,
        "idle_rss_mib": statistics.median(r["rss_mib"] for r in phase("idle")),
        "normal_rss_median_mib": statistics.median(r["rss_mib"] for r in normal),
        "normal_rss_peak_mib": max(r["rss_mib"] for r in normal),
        "slow_rss_median_mib": statistics.median(r["rss_mib"] for r in slow),
        "slow_rss_peak_mib": max(r["rss_mib"] for r in slow),
        "normal_health_p50_ms": statistics.median(r["health_ms"] for r in normal),
        "slow_health_p50_ms": statistics.median(r["health_ms"] for r in slow),
        "normal_health_max_ms": max(r["health_ms"] for r in normal),
        "slow_health_max_ms": max(r["health_ms"] for r in slow),
        "slow_consumers_closed": closed, "gateway_exit": code, "failures": failures, **counts,
    }
    summary["rss_peak_ratio"] = round(summary["slow_rss_peak_mib"] / summary["normal_rss_peak_mib"], 2)
    summary["rss_median_ratio"] = round(summary["slow_rss_median_mib"] / summary["normal_rss_median_mib"], 2)
    summary["health_p50_ratio"] = round(summary["slow_health_p50_ms"] / max(summary["normal_health_p50_ms"], 0.1), 2)
    return {"summary": summary, "samples": rows}


def chart(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for name, colour in (("idle", "grey"), ("normal", "tab:blue"), ("with slow clients", "tab:red")):
        part = [r for r in rows if r["phase"] == name]
        if part:
            top.plot([r["t_s"] for r in part], [r["rss_mib"] for r in part], color=colour, label=name)
            bottom.plot([r["t_s"] for r in part], [r["health_ms"] for r in part], color=colour, label=name)
    top.set_ylabel("Gateway RSS (MiB)")
    top.set_ylim(bottom=0)
    top.legend()
    top.set_title("Gateway memory: normal clients, then never-reading clients added")
    bottom.set_ylabel("another client's health (ms)")
    bottom.set_xlabel("seconds")
    bottom.set_yscale("log")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write(result: dict[str, Any], out: Path, report: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report.mkdir(parents=True, exist_ok=True)
    (out / "gateway_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    with open(out / "gateway_memory.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(result["samples"][0]))
        writer.writeheader()
        writer.writerows(result["samples"])
    drew = chart(result["samples"], report / "gateway_memory.svg")
    s = result["summary"]
    lines = [
        "# Gateway memory with clients that never read", "",
        f"`{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: a {s['entries']}-entry store; "
        f"phase 1 *normal*: {s['normal_clients']} clients looping `sessions.list` (all rows, every answer read) "
        f"and one patching, {s['seconds_per_phase']} s; phase 2 the same plus {s['slow_clients']} raw clients "
        f"pipelining `sessions.list` without ever reading and {s['subscribers']} subscribers that never read, "
        f"{s['seconds_per_phase']} s. RSS of the Gateway process and another client's `health` every 0.5 s. "
        "Ratios: phase 2 / phase 1 of the same run.", "",
        "| | normal only | with slow clients | ratio |", "|---|---|---|---|",
        f"| Gateway RSS, median (MiB) | {s['normal_rss_median_mib']} | {s['slow_rss_median_mib']} | "
        f"{s['rss_median_ratio']} |",
        f"| Gateway RSS, peak (MiB) | {s['normal_rss_peak_mib']} | {s['slow_rss_peak_mib']} | "
        f"{s['rss_peak_ratio']} |",
        f"| `health` p50 (ms) | {s['normal_health_p50_ms']} | {s['slow_health_p50_ms']} | "
        f"{s['health_p50_ratio']} |",
        f"| `health` max (ms) | {s['normal_health_max_ms']} | {s['slow_health_max_ms']} | |", "",
        f"Idle RSS {s['idle_rss_mib']} MiB. Normal clients served {s['normal_requests']} listings and "
        f"{s['patches']} patches in the two phases; the slow clients pushed {s['slow_requests_sent']} requests "
        f"into their sockets (most stay unread in TCP: the Gateway stops reading a connection with 8 MiB in "
        f"flight); {s['slow_consumers_closed']} connection(s) closed as slow consumers; Gateway exit "
        f"{s['gateway_exit']} on SIGTERM. Limits: docs/gateway.md, Limits.", "",
    ]
    if drew:
        lines += ["![Gateway RSS and health latency over time](gateway_memory.svg)", ""]
    lines += ["Raw samples: `bench/out/gateway_memory.csv` and `.json`."]
    (report / "GATEWAY-MEMORY.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--normal", type=int, default=4)
    parser.add_argument("--slow", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--report", type=Path, default=HERE / "report")
    args = parser.parse_args()
    result = run(args)
    write(result, args.out, args.report, "python bench/bench_gateway_memory.py " + " ".join(sys.argv[1:]))
    print(json.dumps(result["summary"], indent=2))
    return 0 if not result["summary"]["failures"] and result["summary"]["gateway_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
