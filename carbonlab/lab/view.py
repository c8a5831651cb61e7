"""Text views of a lab: the `lab status` table, the `lab watch` screen, demo lines.

Everything here is pure except `watch_screen`, which reads the figures it shows: from the lab's
Prometheus with the dashboards' own queries (carbonlab.dashboards.figures), or, when the lab has
no Prometheus or it does not answer, from the node APIs under a banner that says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from carbonlab.dashboards import figures
from carbonlab.dashboards.errors import DashboardsError
from carbonlab.lab.health import LabFacts, PrometheusState
from carbonlab.lab.names import client_token_file, prometheus_skipped_file
from carbonlab.lab.state import LabState, Phase


def _num(value: float | int | None, fmt: str = "{:d}") -> str:
    return "-" if value is None else fmt.format(value)


def status_text(state: LabState, facts: LabFacts | None, lab_dir: str) -> str:
    # the phase is what the last `up` reached; what answers now may differ (a node killed since)
    now = "" if facts is None else f" (recorded)  now {'healthy' if facts.healthy()[0] else 'NOT HEALTHY'}"
    lines = [f"lab {state.lab_id or '?'}  provider {state.provider or '-'}  phase {state.phase}{now}  "
             f"dir {lab_dir}"]
    if facts is None:
        lines.append("(no hosts: the lab is absent; `carbonlab lab up` brings it up)")
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'node':<6} {'host':<10} {'up':<4} {'height':>7} {'view':>5} {'primary':<8} "
                 f"{'peers':>5} {'readings':>9}")
    lines.extend(
        f"{n.member:<6} {n.host:<10} {'yes' if n.up else 'NO':<4} {_num(n.height):>7} "
        f"{_num(n.view):>5} {n.primary or '-':<8} {_num(n.peers):>5} "
        f"{n.readings:>9.0f}" + (f"  ({n.error})" if n.error else "")
        for n in facts.nodes)
    lines.append("")
    lines.append(f"{'gateway':<8} {'host':<10} {'up':<4} {'backlog':>8}")
    lines.extend(
        f"{g.gateway:<8} {g.host:<10} {'yes' if g.up else 'NO':<4} "
        f"{_num(g.backlog, '{:.0f}'):>8}" + (f"  ({g.error})" if g.error else "")
        for g in facts.gateways)
    if facts.clients:
        lines.append("")
        lines.append(f"{'console':<8} {'host':<10} {'up':<4} {'url':<28} token")
        lines.extend(
            f"{c.member:<8} {c.host:<10} {'yes' if c.up else 'NO':<4} {c.url + '/':<28} "
            f"{client_token_file(Path(lab_dir), c.member)}" + (f"  ({c.error})" if c.error else "")
            for c in facts.clients)
    lines.append("")
    meters = ", ".join(f"{h} {'up' if ok else 'DOWN'}" for h, ok in facts.meter_hosts.items())
    lines.append(f"meters: {meters or '-'}")
    if facts.prometheus is PrometheusState.SKIPPED:
        lines.append(f"prometheus: {facts.prometheus} (lab up skipped it: "
                     f"{prometheus_skipped_file(Path(lab_dir))}; the nodes still serve /metrics)")
    elif facts.prometheus is not None:
        lines.append(f"prometheus: {facts.prometheus}")
    ok, reason = facts.healthy()
    lines.append(f"health: {'healthy' if ok else 'not healthy'} ({reason})")
    return "\n".join(lines)


def console_lines(facts: LabFacts, lab_dir: str) -> list[str]:
    """Each organisation's console: its URL and where its token is (the demo prints them)."""
    return [f"  {c.member:<6} {c.url}/  (token in {client_token_file(Path(lab_dir), c.member)})"
            + ("" if c.up else "  NOT ANSWERING") for c in facts.clients]


def demo_line(facts: LabFacts, elapsed_s: float) -> str:
    heights = " ".join(f"{n.member}={_num(n.height)}" for n in facts.nodes)
    best = max(facts.nodes, key=lambda n: n.height or -1)
    plants = ", ".join(f"{p} {kg / 1000:.2f} t" for p, kg in sorted(best.co2_kg_by_plant.items()))
    return (f"[{elapsed_s:6.1f}s] heights {heights} | readings committed {best.readings:.0f} | "
            f"CO2 {plants or '-'}")


def _header(state: LabState, lab_dir: str) -> str:
    return (f"lab {state.lab_id or '?'}  provider {state.provider or '-'}  phase {state.phase}  "
            f"dir {lab_dir}")


def prometheus_screen(state: LabState, lab_dir: str, prometheus_url: str,
                      values: Mapping[str, Mapping[str, float]], *, color: bool = False) -> str:
    """The watch screen from Prometheus: the figures the dashboards plot, from their queries."""
    return "\n".join([
        _header(state, lab_dir),
        f"figures: Prometheus {prometheus_url}, the dashboards' own queries",
        "",
        figures.render(values, color=color),
    ])


def fallback_screen(state: LabState, facts: LabFacts | None, lab_dir: str, reason: str, *,
                    color: bool = False) -> str:
    """The watch screen without Prometheus: the node APIs' status, under a banner naming why."""
    banner = f"NO PROMETHEUS: {reason}; figures below come from the node APIs, not the dashboards' queries"
    if color:
        banner = f"{figures.YELLOW}{banner}{figures.RESET}"
    return f"{banner}\n{status_text(state, facts, lab_dir)}"


def watch_screen(state: LabState, lab_dir: str, prometheus_url: Callable[[], str | None],
                 facts: Callable[[], LabFacts | None], *, color: bool = False) -> str:
    """One `lab watch` screen. `prometheus_url()` is the lab's Prometheus (None: the topology has
    none); `facts()` reads the node APIs, asked only when Prometheus cannot be used."""
    if state.phase == Phase.ABSENT:
        return status_text(state, None, lab_dir)
    url = prometheus_url()
    if url is None:
        return fallback_screen(state, facts(), lab_dir, "this lab's topology has no Prometheus",
                               color=color)
    skipped = prometheus_skipped_file(Path(lab_dir))
    if skipped.exists():
        return fallback_screen(state, facts(), lab_dir, f"lab up skipped it ({_read(skipped)})",
                               color=color)
    try:
        values = figures.fetch(url, timeout_s=3.0)
    except DashboardsError as exc:
        return fallback_screen(state, facts(), lab_dir, f"{exc}", color=color)
    return prometheus_screen(state, lab_dir, url, values, color=color)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[:300]
    except OSError as exc:
        return f"{path}: {exc.strerror}"
