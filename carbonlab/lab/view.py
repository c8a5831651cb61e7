"""Text views of a lab's facts: the `lab status` table, the `lab watch` screen, demo lines. Pure."""

from __future__ import annotations

from carbonlab.lab.health import LabFacts
from carbonlab.lab.state import LabState


def _num(value: float | int | None, fmt: str = "{:d}") -> str:
    return "-" if value is None else fmt.format(value)


def status_text(state: LabState, facts: LabFacts | None, lab_dir: str) -> str:
    lines = [f"lab {state.lab_id or '?'}  provider {state.provider or '-'}  phase {state.phase}  "
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
    lines.append("")
    meters = ", ".join(f"{h} {'up' if ok else 'DOWN'}" for h, ok in facts.meter_hosts.items())
    lines.append(f"meters: {meters or '-'}")
    if facts.prometheus is not None:
        lines.append(f"prometheus: {'ready' if facts.prometheus else 'NOT READY'}")
    ok, reason = facts.healthy()
    lines.append(f"health: {'healthy' if ok else 'not healthy'} ({reason})")
    return "\n".join(lines)


def demo_line(facts: LabFacts, elapsed_s: float) -> str:
    heights = " ".join(f"{n.member}={_num(n.height)}" for n in facts.nodes)
    best = max(facts.nodes, key=lambda n: n.height or -1)
    plants = ", ".join(f"{p} {kg / 1000:.2f} t" for p, kg in sorted(best.co2_kg_by_plant.items()))
    return (f"[{elapsed_s:6.1f}s] heights {heights} | readings committed {best.readings:.0f} | "
            f"CO2 {plants or '-'}")
