#!/usr/bin/env python3
"""``sessions.patch`` through real Gateways: the file store against SQLite and
PostgreSQL, with 1 and 2 Gateways on one store (SQLite: one host, one Gateway
by default), 1 or 8 clients per Gateway, at 5,000 and 100,000 entries, in one run.

Per configuration: a fresh state dir with a generated store (~1.8 KB per
entry, bench/gen_store.py), moved into PostgreSQL with ``openclaw store
migrate`` for the sqlite and postgres rows; ``openclaw gateway run`` processes (each
Gateway a process of its own, as on two hosts); 8 WebSocket clients per
Gateway, each patching entries of its own (``execNode``, so the patch
touches one entry and nothing scans the store) for ``--seconds``. Reported:
patches per second, p50/p99 latency of an acknowledged patch, and the
ratios postgres / file measured in this run. A patch on PostgreSQL writes
one row, so its cost stays flat from 5,000 to 100,000 entries; the file
store rewrites the whole file (and, with two Gateways, each re-reads what the
other wrote).

    python bench/bench_store_backends.py [--sizes 5000,100000] [--backends file,sqlite,postgres]
                                         [--gateways 1,2] [--clients 8] [--seconds 15] [--chart out.svg]

Needs PostgreSQL's server binaries (.ci/ensure-postgres.sh) and psycopg; the
chart needs matplotlib (pip install -e ".[bench]").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from gen_store import generate_store  # noqa: E402
from pg_fixtures import PostgresServer, free_port  # noqa: E402

OPENCLAW = str(Path(sys.executable).parent / "openclaw")
TOKEN = "bench-token-0123456789abcdef"
CLIENTS_PER_GATEWAY = 8
FAST_FILL_ABOVE = 100_000  # entries; above it the row backends are filled by bench/fill_rows.py


@dataclass
class Result:
    backend: str
    entries: int
    gateways: int
    clients: int
    patches: int
    seconds: float
    latencies_ms: list[float]
    store_mb: float
    errors: int

    @property
    def rate(self) -> float:
        return self.patches / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the Gateway side -----------------------------------------------------------------------

def start_gateway(env: dict[str, str], port: int, timeout: float = 600) -> subprocess.Popen:
    proc = subprocess.Popen([OPENCLAW, "gateway", "run", "--port", str(port)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        if "[gateway] ready" in line:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep draining
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError(f"gateway on port {port} did not start")


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client_loop(port: int, keys: list[str], until: float, latencies: list[float], counts: list[int],
                warm: threading.Barrier) -> None:
    from gateway_support import handshake, request

    ws, hello = handshake(port, token=TOKEN)
    assert hello["ok"], hello
    warm.wait()
    i = 0
    while time.monotonic() < until:
        key = keys[i % len(keys)]
        started = time.perf_counter()
        reply = request(ws, "sessions.patch", {"key": key, "execNode": f"bench-{i}"}, timeout=600)
        elapsed = time.perf_counter() - started
        if reply.get("ok"):
            latencies.append(elapsed * 1000)
        else:
            counts[1] += 1
        i += 1
    ws.close()


def measure(backend: str, entries: int, gateways: int, seconds: float, pg: PostgresServer | None,
            work: Path, clients_per_gateway: int = CLIENTS_PER_GATEWAY) -> Result:
    state = work / f"{backend}-{entries}-{gateways}-{clients_per_gateway}"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    keys = generate_store(store, entries, seed=11, now=int(time.time() * 1000) - 60 * 86_400_000 // 60)
    size_mb = store.stat().st_size / 1e6
    session: dict = {"maintenance": {"pruneAfter": "3650d", "maxEntries": 10 * entries}}
    if pg is not None:
        session["postgres"] = {"dsn": pg.dsn(), "schema": f"bench_{entries}_{gateways}_{clients_per_gateway}"}
    (state / "openclaw.json").write_text(json.dumps({"session": session}))
    env = dict(os.environ, OPENCLAW_STATE_DIR=str(state), OPENCLAW_GATEWAY_TOKEN=TOKEN)
    env.pop("OPENCLAW_CONFIG_PATH", None)
    if backend in ("postgres", "sqlite"):
        started = time.perf_counter()
        if entries > FAST_FILL_ABOVE:
            # `store migrate` holds three forms of the store (~10 GB at 500,000 entries):
            # the rows are written through the backend's own write instead (bench/fill_rows.py).
            session["backend"] = backend
            (state / "openclaw.json").write_text(json.dumps({"session": session}))
            subprocess.run([sys.executable, str(HERE / "fill_rows.py"), str(store)], env=env, check=True,
                           capture_output=True)
            print(f"    fill_rows --to {backend}: {time.perf_counter() - started:.1f}s", flush=True)
        else:
            subprocess.run([OPENCLAW, "store", "migrate", "--to", backend], env=env, check=True,
                           capture_output=True)
            print(f"    migrate --to {backend}: {time.perf_counter() - started:.1f}s", flush=True)
        session["backend"] = backend
        (state / "openclaw.json").write_text(json.dumps({"session": session}))
    ports = [free_port() for _ in range(gateways)]
    procs = [start_gateway(env, port) for port in ports]
    try:
        # Each client patches direct-chat entries of its own (never the same entry twice at once).
        direct = [k for k in keys if ":direct:" in k]
        clients = gateways * clients_per_gateway
        latencies: list[float] = []
        counts = [0, 0]
        warm = threading.Barrier(clients + 1)
        until_box: list[float] = []
        threads = []
        for c in range(clients):
            mine = direct[c::clients][:50]
            thread = threading.Thread(target=lambda c=c, mine=mine: client_loop(
                ports[c % gateways], mine, until_box[0], latencies, counts, warm), daemon=True)
            threads.append(thread)
        # Load each Gateway's cache before the clock starts (a first patch per Gateway).
        from gateway_support import handshake, request

        for port in ports:
            ws, _ = handshake(port, token=TOKEN)
            reply = request(ws, "sessions.patch", {"key": direct[0], "execNode": "warm"}, timeout=900)
            assert reply.get("ok"), reply
            ws.close()
        until_box.append(time.monotonic() + seconds + 5)
        for thread in threads:
            thread.start()
        warm.wait()
        started = time.monotonic()
        until_box[0] = started + seconds
        for thread in threads:
            thread.join(seconds + 900)
        elapsed = time.monotonic() - started
        return Result(backend, entries, gateways, clients_per_gateway, len(latencies), elapsed, latencies, size_mb,
                      counts[1])
    finally:
        stop(procs)


# --- output ---------------------------------------------------------------------------------

def table(results: list[Result]) -> None:
    print(f"\n{'entries':>8} {'GWs':>3} {'clients':>7} {'backend':>9} {'store MB':>9} {'patches/s':>10} "
          f"{'p50 ms':>8} {'p99 ms':>9} {'errors':>6}")
    for r in results:
        print(f"{r.entries:>8} {r.gateways:>3} {r.clients:>7} {r.backend:>9} {r.store_mb:>9.1f} {r.rate:>10.1f} "
              f"{r.pct(0.5):>8.1f} {r.pct(0.99):>9.1f} {r.errors:>6}")
    print("\nratios (backend / file, same run): throughput up is better, p99 down is better")
    for entries in sorted({r.entries for r in results}):
        for gateways in sorted({r.gateways for r in results}):
            for clients in sorted({r.clients for r in results}):
                pair = {r.backend: r for r in results if r.entries == entries and r.gateways == gateways
                        and r.clients == clients}
                for other in ("sqlite", "postgres"):
                    if {"file", other} <= set(pair):
                        f, p = pair["file"], pair[other]
                        print(f"  {entries:>7} entries, {gateways} Gateway(s), {clients} client(s) each, {other}: "
                              f"throughput x{p.rate / f.rate:.1f}, p50 x{p.pct(0.5) / f.pct(0.5):.3f}, "
                              f"p99 x{p.pct(0.99) / f.pct(0.99):.3f}")
    sizes = sorted({r.entries for r in results})
    if len(sizes) >= 2:
        print(f"\ncost of one patch as the store grows {sizes[0]} -> {sizes[-1]} entries (1 Gateway, p50 latency):")
        for backend in ("file", "sqlite", "postgres"):
            runs = {r.entries: r for r in results if r.backend == backend and r.gateways == 1
                    and r.clients == min(x.clients for x in results)}
            if sizes[0] in runs and sizes[-1] in runs:
                a, b = runs[sizes[0]], runs[sizes[-1]]
                print(f"  {backend:>9}: {a.pct(0.5):.1f} ms -> {b.pct(0.5):.1f} ms (x{b.pct(0.5) / a.pct(0.5):.1f}; "
                      f"the store grew x{sizes[-1] / sizes[0]:.0f})")


def chart(results: list[Result], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no chart; pip install -e '.[bench]')")
        return
    sizes = sorted({r.entries for r in results})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    colors = {"file": "#c0504d", "sqlite": "#9bbb59", "postgres": "#4f81bd"}
    combos = sorted({(r.gateways, r.clients) for r in results})
    styles = ["-o", "--s", ":^", "-.d"]
    for backend in ("file", "sqlite", "postgres"):
        for (gateways, clients), style in zip(combos, styles):
            runs = [next((r for r in results if r.backend == backend and r.entries == s and r.gateways == gateways
                          and r.clients == clients), None) for s in sizes]
            if any(r is None for r in runs):
                continue
            label = f"{backend}, {gateways} Gateway{'s' if gateways > 1 else ''} x {clients} client(s)"
            axes[0].plot(sizes, [r.pct(0.5) for r in runs], style, color=colors[backend], label=label)
            axes[1].plot(sizes, [r.pct(0.99) for r in runs], style, color=colors[backend], label=label)
            axes[2].plot(sizes, [r.rate for r in runs], style, color=colors[backend], label=label)
    for ax, title, unit in ((axes[0], "p50 latency of one patch", "ms"), (axes[1], "p99 latency", "ms"),
                            (axes[2], "throughput", "patches/s")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{s:,}" for s in sizes])
        ax.set_xlabel("entries in the store")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("sessions.patch through real Gateways: a patch costs O(store) on the file store, "
                 "O(entry) on SQLite and PostgreSQL")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"chart: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,100000")
    parser.add_argument("--gateways", default="1,2")
    parser.add_argument("--backends", default="file,sqlite,postgres")
    parser.add_argument("--clients", default=str(CLIENTS_PER_GATEWAY), help="clients per Gateway, e.g. 1,8")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per configuration")
    parser.add_argument("--chart", type=Path, default=HERE / "store_backends.svg")
    parser.add_argument("--fsync", default="on", choices=("on", "off"),
                        help="PostgreSQL fsync (on: durable commits, as the file store's fsync)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    gateway_counts = [int(g) for g in args.gateways.split(",")]
    backends = args.backends.split(",")
    client_counts = [int(c) for c in args.clients.split(",")]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="oc-bench-backends.") as tmp, \
            PostgresServer(fsync=args.fsync == "on") as pg:
        for entries in sizes:
            for gateways in gateway_counts:
                for clients in client_counts:
                    for backend in backends:
                        print(f"{entries} entries, {gateways} Gateway(s) x {clients} client(s), {backend} ...",
                              flush=True)
                        result = measure(backend, entries, gateways, args.seconds,
                                         pg if backend == "postgres" else None, Path(tmp), clients)
                        print(f"    {result.rate:.1f} patches/s, p50 {result.pct(0.5):.1f} ms, "
                              f"p99 {result.pct(0.99):.1f} ms", flush=True)
                        results.append(result)
                        for leftover in Path(tmp).glob("*"):
                            subprocess.run(["rm", "-rf", str(leftover)], check=False)
    table(results)
    if statistics and args.chart:
        chart(results, args.chart)


if __name__ == "__main__":
    main()
