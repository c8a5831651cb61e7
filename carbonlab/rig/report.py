"""A scenario's report: `report.md` (timeline of faults, invariant table with evidence, figures)
and `heights.png` (height per node, throughput and emissions over time, faults shaded).
Built from the run's JSON (run.json), so a report can be re-drawn from a saved run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _rel(t: float | None, t0: float) -> str:
    return "-" if t is None else f"{t - t0:+.1f}"


def plot(run: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = run["started_at"]
    samples = run["samples"]
    fig, (ax_h, ax_t, ax_e) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    members = sorted({m for s in samples for m in s["heights"]})
    nan = float("nan")
    for m in members:   # a node that does not answer leaves a gap, not a line across its outage
        ax_h.plot([s["t"] - t0 for s in samples],
                  [nan if s["heights"].get(m) is None else s["heights"][m] for s in samples],
                  label=m, linewidth=1.2)
    ax_h.set_ylabel("height")
    ax_h.legend(ncol=max(1, len(members)), fontsize="small", loc="upper left")
    tops: list[tuple[float, int]] = []
    for s in samples:
        up = [h for h in s["heights"].values() if h is not None]
        if up:
            tops.append((s["t"] - t0, max(up)))
    span = 5   # blocks per second over 5 samples: one-second steps only show the batching rhythm
    rate = [(b[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(tops, tops[span:], strict=False)
            if b[0] > a[0]]
    ax_t.plot([t for t, _ in rate], [r for _, r in rate], color="tab:green", linewidth=1)
    ax_t.set_ylabel("blocks / s")
    co2 = [(s["t"] - t0, s["co2_kg"] / 1000.0) for s in samples if s.get("co2_kg") is not None]
    ax_e.plot([t for t, _ in co2], [c for _, c in co2], color="tab:brown", marker=".", linewidth=1)
    ax_e.set_ylabel("CO2 committed (t)")
    ax_e.set_xlabel("seconds since the scenario started")
    for i, f in enumerate(run["faults"]):
        if f["applied_at"] is None:
            continue
        lo = f["applied_at"] - t0
        hi = (f["healed_at"] or run.get("healed_at") or f["applied_at"]) - t0
        for ax in (ax_h, ax_t, ax_e):
            ax.axvspan(lo, max(hi, lo + 0.5), color=f"C{i % 10}", alpha=0.12)
        ax_h.annotate(f"{f['fault']} {f['target']}", (lo, 0), xycoords=("data", "axes fraction"),
                      fontsize="x-small", rotation=90, va="bottom")
    fig.suptitle(f"{run['scenario']} on {run['lab']} ({run['provider']}), seed {run['seed']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def markdown(run: dict[str, Any], png: str | None) -> str:
    t0 = run["started_at"]
    verdict = "SKIPPED" if run["skipped"] else ("PASS" if run["passed"] else "FAIL")
    out = [f"# Scenario `{run['scenario']}`: {verdict}", "",
           f"- lab `{run['lab']}` on provider `{run['provider']}`, seed {run['seed']}",
           f"- duration {run['duration_s']:.1f} s, rig CPU {run['cpu_pct']:.1f} % of one core"]
    if run.get("phases_s"):   # absent from a run.json written before the phases were kept
        out[-1] += " (" + ", ".join(f"{k} {v:.1f} s" for k, v in run["phases_s"].items()) + ")"
    if run["skipped"]:
        out += [f"- skipped: {run['skipped']}"]
        return "\n".join(out) + "\n"
    conv = run["converged_after_s"]
    when = f"{conv:.1f} s" if conv is not None else "NOT within the recovery time"
    out += [f"- nodes at one height {when} after the last heal", "", "## Timeline of faults", "",
            "| fault | target | params | applied (s) | healed (s) | what happened |",
            "|---|---|---|---|---|---|"]
    for f in run["faults"]:
        what = f["applied"] + (f" / {f['healed']}" if f["healed"] else "")
        what = (what + (f" / ERROR {f['error']}" if f["error"] else "")).replace("|", "\\|")
        out.append(f"| `{f['fault']}` | {f['target']} | `{json.dumps(f['params'])}` "
                   f"| {_rel(f['applied_at'], t0)} | {_rel(f['healed_at'], t0)} | {what} |")
    out += ["", "## Invariants", "", "| invariant | result | summary |", "|---|---|---|"]
    for r in run["invariants"]:
        mark = "pass" if r["passed"] else ("FAIL (reported only: a stated limit)"
                                           if r["name"] in run["report_only"] else "**FAIL**")
        out.append(f"| {r['name']} | {mark} | {r['summary'].replace('|', '/')} |")
    for r in run["invariants"]:
        if r["evidence"]:
            out += ["", f"### Evidence: {r['name']}", ""] + [f"- {e}" for e in r["evidence"]]
    if png:
        out += ["", "## Height, throughput and emissions", "", f"![heights]({png})"]
    return "\n".join(out) + "\n"


def write_report(run_json: Path) -> Path:
    run = json.loads(run_json.read_text())
    png = None
    if not run["skipped"] and run["samples"]:
        png = plot(run, run_json.parent / "heights.png").name
    path = run_json.parent / "report.md"
    path.write_text(markdown(run, png))
    return path
