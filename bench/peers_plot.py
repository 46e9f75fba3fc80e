#!/usr/bin/env python3
"""The peer comparison as a PNG: `peers_plot.py RESULTS.json|- OUT.png` (matplotlib, from the
venv bench/peers.py makes)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    out = json.load(sys.stdin if src == "-" else open(src))
    rows = out["rows"]
    names = [r["server"].replace(" (", "\n(").replace(" + ", "\n+ ") for r in rows]
    grants = [r["grant"]["rps"] for r in rows]
    intro = [r["introspect"]["rps"] for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    w = 0.38
    b1 = ax.bar([i - w / 2 for i in x], grants, w, label="client-credentials grants/s")
    b2 = ax.bar([i + w / 2 for i in x], intro, w, label="introspections/s")
    ax.bar_label(b1, labels=[f"{v:,.0f}" for v in grants], fontsize=8)
    ax.bar_label(b2, labels=[f"{v:,.0f}" for v in intro], fontsize=8)
    ax.set_xticks(list(x), names, fontsize=8)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title(f"Gatehouse (durable) and its peers, {out['conns']} connections, {out['when']}\n"
                 f"load average {out['loadavg_during'][0]:.1f}-{out['loadavg_during'][1]:.1f} during the run",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main()
