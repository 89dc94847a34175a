#!/usr/bin/env python3
"""Turn criterion's results into a dualsync/peer ratio table.

Reads every ``<criterion dir>/**/new/benchmark.json`` (group_id, function_id,
value_str) with the ``estimates.json`` next to it, and prints, per primitive
(the part of the group name before the first ``/``), one table:

    scenario | variant | time | vs best peer | <peer 1> | <peer 2> | ...

* ``variant`` is each function id that starts with ``dualsync`` (``dualsync``,
  ``dualsync_fair``, ...); every other function id is a peer.
* ``time`` is the variant's point estimate (mean by default).
* a peer column holds ``variant time / peer time``: below 1.0 means dualsync
  is faster. ``vs best peer`` is the ratio to the fastest peer of the group.

New benches (event, semaphore, barrier, queue, ...) show up by themselves.
Python 3.11+, standard library only.

    python3 scripts/ratios.py                       # every group
    python3 scripts/ratios.py --group-prefix mutex/ # only mutex/*
    python3 scripts/ratios.py --markdown            # GitHub table
    python3 scripts/ratios.py --stat median --dir target/criterion
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

VARIANT_PREFIX = "dualsync"
# Column order for known peers; unknown ones follow, alphabetically.
PEER_ORDER = [
    "parking_lot", "std", "tokio", "async_lock", "futures", "crossbeam", "flume",
    "kanal", "async_channel", "event_listener", "futures_intrusive", "smol",
]


@dataclass(frozen=True)
class Result:
    group: str  # "mutex/uncontended_blocking" (+ "/<value>" for parameterized ids)
    function: str  # "dualsync", "parking_lot", ...
    ns: float  # point estimate, nanoseconds per iteration


def default_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    return Path(target) / "criterion"


def load(root: Path, stat: str) -> list[Result]:
    results = []
    for bench in sorted(root.glob("**/new/benchmark.json")):
        estimates = bench.with_name("estimates.json")
        try:
            meta = json.loads(bench.read_text())
            est = json.loads(estimates.read_text())
        except (OSError, json.JSONDecodeError) as e:
            print(f"warning: skipping {bench.parent}: {e}", file=sys.stderr)
            continue
        group = meta.get("group_id")
        function = meta.get("function_id")
        if not group or not function:
            continue
        if meta.get("value_str"):
            group = f"{group}/{meta['value_str']}"
        point = (est.get(stat) or {}).get("point_estimate")
        if point is None:
            continue
        results.append(Result(group, function, float(point)))
    return results


def fmt_time(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def build_tables(results: list[Result]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """primitive -> (header, rows)."""
    groups: dict[str, dict[str, float]] = {}
    for r in results:
        groups.setdefault(r.group, {})[r.function] = r.ns

    tables: dict[str, tuple[list[str], list[list[str]]]] = {}
    by_primitive: dict[str, list[str]] = {}
    for g in groups:
        by_primitive.setdefault(g.split("/", 1)[0], []).append(g)

    for prim, gnames in sorted(by_primitive.items()):
        found = {f for g in gnames for f in groups[g] if not f.startswith(VARIANT_PREFIX)}
        peers = sorted(
            found,
            key=lambda p: (PEER_ORDER.index(p) if p in PEER_ORDER else len(PEER_ORDER), p),
        )
        header = ["scenario", "variant", "time", "vs best peer", *peers]
        rows = []
        for g in sorted(gnames):
            fns = groups[g]
            variants = sorted(
                (f for f in fns if f.startswith(VARIANT_PREFIX)),
                key=lambda f: (f != VARIANT_PREFIX, f),
            )
            present = {p: fns[p] for p in peers if p in fns}
            best = min(present, key=present.get) if present else None
            scenario = g.split("/", 1)[1] if "/" in g else g
            for v in variants:
                t = fns[v]
                ratio = lambda p: t / present[p] if p in present and present[p] > 0 else None
                best_cell = f"{fmt_ratio(ratio(best))} ({best})" if best else "-"
                rows.append(
                    [scenario, v, fmt_time(t), best_cell, *(fmt_ratio(ratio(p)) for p in peers)]
                )
            if not variants:
                rows.append([scenario, "(no dualsync)", "-", "-", *("-" for _ in peers)])
        tables[prim] = (header, rows)
    return tables


def render_text(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [title, line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def render_markdown(title: str, header: list[str], rows: list[list[str]]) -> str:
    out = [f"### {title}", "", "| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---" for _ in header) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="criterion output directory "
                    "(default: $CARGO_TARGET_DIR/criterion or target/criterion)")
    ap.add_argument("--group-prefix", default="", help="only groups starting with this, e.g. mutex/")
    ap.add_argument("--markdown", action="store_true", help="print GitHub markdown tables")
    ap.add_argument("--stat", choices=("mean", "median"), default="mean",
                    help="which point estimate to use (default: mean)")
    args = ap.parse_args(argv)

    root = args.dir or default_dir()
    if not root.is_dir():
        print(f"no criterion results under {root}: run `cargo bench` first", file=sys.stderr)
        return 1
    results = [r for r in load(root, args.stat) if r.group.startswith(args.group_prefix)]
    if not results:
        print(f"no benchmark results under {root} matching {args.group_prefix!r}", file=sys.stderr)
        return 1

    render = render_markdown if args.markdown else render_text
    print(f"dualsync time / peer time ({args.stat}); < 1.00x means dualsync is faster\n")
    for prim, (header, rows) in build_tables(results).items():
        print(render(prim, header, rows))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
