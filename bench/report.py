#!/usr/bin/env python3
"""Render bench/run_all.py's results as REPORT.md plus the chart cost_vs_size.svg.

    python bench/report.py [bench/report/results.json]

Re-rendering never re-measures: it reads results.json (written by run_all.py)
and writes REPORT.md and cost_vs_size.svg next to it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHART = "cost_vs_size.svg"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(ours: float | None, base: float | None) -> str:
    if not ours or not base:
        return "-"
    r = ours / base
    if r >= 10:
        return f"**{r:.0f}x**"
    return f"**{r:.2f}x**" if r >= 0.1 else f"**{r:.2g}x**"


def _size(n: int) -> str:
    return f"{n:,}"


def _pick(rows: list[dict[str, Any]], size: int) -> dict[str, Any] | None:
    """The row for ``size``, else the largest one below it."""
    below = [r for r in rows if r["entries"] <= size]
    return max(below, key=lambda r: r["entries"]) if below else (rows[0] if rows else None)


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """| what | better | ours | baseline (this run) | ours / baseline | reference | ours / reference |"""
    rows: list[list[str]] = []
    writer = results.get("writer")
    if isinstance(writer, list) and writer:
        for size in sorted({r["entries"] for r in writer if r["entries"] >= 10_000} or {max(r["entries"] for r in writer)}):
            for r in (r for r in writer if r["entries"] == size):
                rows.append([f"writer: entry patches/s, {_size(size)} entries ({r['mb']:.0f} MB), {r['callers']} caller(s)",
                             "higher", _num(r["writer_per_s"]), f"naive writer {_num(r['naive_per_s'])}",
                             _ratio(r["writer_per_s"], r["naive_per_s"]), "-", "-"])
    gateway = results.get("gateway")
    if isinstance(gateway, dict) and "rows" in gateway:
        for r in gateway["rows"]:
            ours, ref = r.get("ours") or {}, r.get("reference") or {}
            where = f"{_size(r['entries'])} entries, {r['clients']} client(s)"
            rows.append([f"Gateway sessions.patch/s, {where}", "higher", _num(ours.get("per_s")),
                         f"naive writer {_num(r.get('naive_per_s'))}", _ratio(ours.get("per_s"), r.get("naive_per_s")),
                         _num(ref.get("per_s")), _ratio(ours.get("per_s"), ref.get("per_s"))])
            rows.append([f"Gateway sessions.patch p99 ms, {where}", "lower", _num(ours.get("p99_ms")),
                         f"naive writer {_num(r.get('naive_p99_ms'))}", _ratio(ours.get("p99_ms"), r.get("naive_p99_ms")),
                         _num(ref.get("p99_ms")), _ratio(ours.get("p99_ms"), ref.get("p99_ms"))])
    cleanup = results.get("cleanup")
    if isinstance(cleanup, list) and cleanup:
        for size in sorted({max(r["entries"] for r in cleanup), *(r["entries"] for r in cleanup if r["entries"] == 10_000)}):
            r = next(x for x in cleanup if x["entries"] == size)
            ours, floor, ref = r["ours"], r.get("floor", {}), r.get("reference", {})
            rows.append([f"cleanup --enforce, {_size(size)} entries ({r['mb']:.0f} MB): seconds", "lower",
                         _num(ours["seconds"], 2), f"naive cleanup {_num(floor.get('seconds'), 2)}",
                         _ratio(ours["seconds"], floor.get("seconds")), _num(ref.get("seconds"), 2),
                         _ratio(ours["seconds"], ref.get("seconds"))])
            rows.append([f"cleanup --enforce, {_size(size)} entries: peak RSS MB", "lower", _num(ours["peak_mb"]),
                         f"naive cleanup {_num(floor.get('peak_mb'))}", _ratio(ours["peak_mb"], floor.get("peak_mb")),
                         _num(ref.get("peak_mb")), _ratio(ours["peak_mb"], ref.get("peak_mb"))])
    listing = results.get("list")
    if isinstance(listing, list) and listing:
        r = max(listing, key=lambda x: x["entries"])
        rows.append([f"sessions --limit all --json, {_size(r['entries'])} entries: seconds", "lower",
                     _num(r["ours"], 2), f"orjson floor {_num(r['floor'], 2)}", _ratio(r["ours"], r["floor"]),
                     _num(r.get("reference"), 2), _ratio(r["ours"], r.get("reference"))])
    coldstart = results.get("coldstart")
    if isinstance(coldstart, list):
        for r in coldstart:
            rows.append([f"CLI cold start: openclaw {r['command']}, ms", "lower", _num(r["ours"] * 1000),
                         f"python start-up {_num(r['floor'] * 1000)}", _ratio(r["ours"], r["floor"]),
                         _num(r["reference"] * 1000) if r.get("reference") else "-",
                         _ratio(r["ours"], r.get("reference"))])
    return rows


def size_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    writer = {(r["entries"], r["callers"]): r for r in results.get("writer") or [] if isinstance(r, dict)}
    cleanup = {r["entries"]: r for r in results.get("cleanup") or [] if isinstance(r, dict)}
    listing = {r["entries"]: r for r in results.get("list") or [] if isinstance(r, dict)}
    sizes = sorted({k[0] for k in writer} | set(cleanup) | set(listing))
    header = ["entries", "MB", "writer ms/patch (1 / 8 callers)", "naive ms/patch (1 / 8)",
              "cleanup s: ours / naive / ref", "cleanup peak MB: ours / naive / ref", "list s: ours / floor / ref"]
    rows = []
    for n in sizes:
        w1, w8, c, li = writer.get((n, 1)), writer.get((n, 8)), cleanup.get(n), listing.get(n)
        mb = (w1 or c or li or {}).get("mb")

        def ms(r: dict[str, Any] | None, key: str) -> str:
            return _num(1000 / r[key], 2) if r and r.get(key) else "-"

        def trio(r: dict[str, Any] | None, field: str, digits: int) -> str:
            if not r:
                return "-"
            return " / ".join(_num((r.get(k) or {}).get(field), digits) for k in ("ours", "floor", "reference"))

        rows.append([_size(n), _num(mb), f"{ms(w1, 'writer_per_s')} / {ms(w8, 'writer_per_s')}",
                     f"{ms(w1, 'naive_per_s')} / {ms(w8, 'naive_per_s')}", trio(c, "seconds", 2),
                     trio(c, "peak_mb", 0),
                     " / ".join(_num(li.get(k), 3) for k in ("ours", "floor", "reference")) if li else "-"])
    return header, rows


def chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    styles = {"ours": dict(color="tab:blue", marker="o"), "baseline": dict(color="tab:gray", marker="s", linestyle="--"),
              "reference": dict(color="tab:red", marker="^", linestyle=":"), "ours 8": dict(color="tab:cyan", marker="o"),
              "baseline 8": dict(color="silver", marker="s", linestyle="--")}

    def plot(ax: Any, title: str, ylabel: str, series: dict[str, list[tuple[int, float]]]) -> None:
        for label, points in series.items():
            points = [(x, y) for x, y in points if y]
            if points:
                style = styles[label.split(":")[0]]
                ax.plot([p[0] for p in points], [p[1] for p in points], label=label.split(":", 1)[-1], **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("entries in the store")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)

    writer = [r for r in results.get("writer") or [] if isinstance(r, dict)]
    plot(axes[0][0], "one entry patch (lower is better)", "ms per patch", {
        "ours:writer, 1 caller": [(r["entries"], 1000 / r["writer_per_s"]) for r in writer if r["callers"] == 1],
        "ours 8:writer, 8 callers (group commit)": [(r["entries"], 1000 / r["writer_per_s"]) for r in writer if r["callers"] == 8],
        "baseline:naive read-modify-write, 1 caller": [(r["entries"], 1000 / r["naive_per_s"]) for r in writer if r["callers"] == 1],
        "baseline 8:naive, 8 callers": [(r["entries"], 1000 / r["naive_per_s"]) for r in writer if r["callers"] == 8],
    })
    cleanup = [r for r in results.get("cleanup") or [] if isinstance(r, dict)]
    for ax, field, title, unit in ((axes[0][1], "seconds", "sessions cleanup --enforce: time", "seconds"),
                                   (axes[1][0], "peak_mb", "sessions cleanup --enforce: peak memory", "peak RSS, MiB")):
        plot(ax, title + " (lower is better)", unit, {
            "ours:ours": [(r["entries"], r["ours"][field]) for r in cleanup],
            "baseline:naive orjson cleanup": [(r["entries"], r["floor"][field]) for r in cleanup if "floor" in r],
            "reference:OpenClaw 2026.5.4": [(r["entries"], r["reference"][field]) for r in cleanup if "reference" in r],
        })
    listing = [r for r in results.get("list") or [] if isinstance(r, dict)]
    plot(axes[1][1], "sessions --limit all --json (lower is better)", "seconds", {
        "ours:ours": [(r["entries"], r["ours"]) for r in listing],
        "baseline:orjson floor": [(r["entries"], r["floor"]) for r in listing],
        "reference:OpenClaw 2026.5.4": [(r["entries"], r.get("reference")) for r in listing],
    })
    fig.suptitle("Cost against store size (~1.9 KB per entry; every curve measured in the same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def render(results: dict[str, Any], out: Path) -> Path:
    meta = results.get("meta", {})
    lines = ["# Benchmark report", "",
             f"Generated by `{meta.get('command', 'python bench/run_all.py')}` on {meta.get('date', '?')} "
             f"(commit {meta.get('commit') or '?'}; Python {meta.get('python', '?')}; {meta.get('cpus', '?')} CPUs, "
             f"load average {meta.get('load_before', 0):.1f} at the start, {meta.get('load_after', 0):.1f} at the end; "
             f"reference: {'OpenClaw ' + meta['reference'] if meta.get('reference') else 'not installed'}; "
             f"{meta.get('total_seconds', 0) / 60:.0f} min in all).", "",
             "Every ratio divides our number by a baseline measured in the same run: for throughput "
             "higher is better, for time and memory lower is better. Re-render with `python bench/report.py`; "
             "the raw numbers are in `results.json`.", "",
             "## Summary", ""]
    lines += _table(["what", "better", "ours", "baseline (this run)", "ours / baseline", "reference", "ours / reference"],
                    summary_rows(results))
    header, rows = size_rows(results)
    drew = chart(results, out / CHART)
    lines += ["", "## Cost against store size", ""]
    if drew:
        lines += [f"![cost against store size]({CHART})", ""]
    else:
        lines += ["(no chart: matplotlib is not installed; `pip install -e '.[bench]'`)", ""]
    lines += _table(header, rows)
    gateway = results.get("gateway")
    if isinstance(gateway, dict) and "rows" in gateway:
        lines += ["", "## Gateway `sessions.patch`", "",
                  "Shared harness (`../shared/reference/gateway-bench.sh`): the same generated store, client and "
                  "durability checks for both Gateways; the naive writer is measured on a store of the same size "
                  "generated by bench/gen_store.py.", ""]
        grows = []
        for r in gateway["rows"]:
            for name in ("ours", "reference"):
                g = r.get(name)
                if g:
                    grows.append([name, str(r["clients"]), _size(r["entries"]), _num(g["per_s"]), _num(g["p50_ms"]),
                                  _num(g["p99_ms"]), "yes" if g.get("durable") else "NO"])
            grows.append(["naive writer", str(r["clients"]), _size(r["entries"]), _num(r.get("naive_per_s")),
                          _num(r.get("naive_p50_ms")), _num(r.get("naive_p99_ms")), "yes (per call)"])
        lines += _table(["who", "clients", "entries", "patches/s", "p50 ms", "p99 ms", "every ack durable"], grows)
    backends = results.get("backends")
    if isinstance(backends, dict) and backends.get("table"):
        lines += ["", "## Store backends (bench_store_backends.py, as printed)", "", "```", backends["table"], "```"]
        if backends.get("chart") and (out / backends["chart"]).exists():
            lines += ["", f"![file store against PostgreSQL]({backends['chart']})"]
    if (out / "GATEWAY-MEMORY.md").exists():  # written by bench_gateway_memory.py, run on its own
        lines += ["", "## Gateway memory with clients that never read", "",
                  "RSS over time with never-reading clients next to normal ones: "
                  "[GATEWAY-MEMORY.md](GATEWAY-MEMORY.md) (bench/bench_gateway_memory.py)."]
    failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    if failed:
        lines += ["", "## Sections that did not run", ""]
        lines += [f"* {name}: {error}" for name, error in failed.items()]
    seconds = results.get("seconds") or {}
    if seconds:
        lines += ["", "Time per section: " + ", ".join(f"{k} {v:.0f}s" for k, v in seconds.items()) + "."]
    lines += ["", "What each section measures: see bench/README.md."]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "report" / "results.json"
    results = json.loads(source.read_text())
    print(render(results, source.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
