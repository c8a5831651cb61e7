"""The chain page: every member's height, view, primary, commits per second, latency, link.

Data: one `GET /v1/peers` to the console's own member (`carbonlab.node.peers`), joined with
genesis for the organisation and role. Commits per second come from the heights the console
saw over the last 30 s (`context.HeightHistory`). A member is `down` (red) when its member
says the link is not up, which happens at once when the member's process dies (its
connections close) and within `silent_after_s` when it hangs; the console's own member is
`down` when it does not answer (the page then shows the error banner too). The live block
is pushed every refresh interval, so a stopped member turns red within it.

Test ids: `chain-members` (the table), `member-<id>` (a row, with `data-state` =
`up`/`down`/`unknown`), `height-<id>`, `view-<id>`, `rate-<id>`, `heard-<id>`,
`chain-primary`, `chain-view`, `chain-latency`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client.nodeapi import NodeDown

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console
    from carbonlab.node.peers import PeersReport


@dataclass(frozen=True, slots=True)
class MemberRow:
    member_id: str
    organisation: str
    role: str
    state: str                  # up, down, unknown (never heard and not connected)
    height: int | None
    view: int | None
    primary: bool
    itself: bool                # the console's own member
    rate_per_s: float | None
    heard_ago_ms: int | None


def rows(console: Console, report: PeersReport | None) -> list[MemberRow]:
    """One row per genesis member; with no report (own node down) every member is unknown and
    the own member down."""
    seen = {m.member_id: m for m in (report.members if report else ())}
    out = []
    for member in console.genesis.members:
        status = seen.get(member.id)
        itself = (report is not None and member.id == report.member_id) or (
            report is None and console.member is not None and member.id == console.member.id)
        if status is None:
            state = "down" if itself else "unknown"
        elif status.connected:
            state = "up"
        else:
            state = "down"
        height = status.height if status else None
        console.history.add(member.id, height if state == "up" else None)
        out.append(MemberRow(member.id, member.organisation, member.role, state, height,
                             status.view if status else None,
                             report is not None and member.id == report.primary, itself,
                             console.history.rate(member.id) if state == "up" else None,
                             status.heard_ago_ms if status else None))
    return out


async def view(console: Console, request: Request) -> dict[str, Any]:
    from carbonlab.client.params import read_params

    read_params(NoParams, request.query_params.multi_items())
    try:
        report = await console.api.peers()
    except NodeDown as exc:
        return {"members": rows(console, None), "report": None, "error": str(exc)}
    return {"members": rows(console, report), "report": report}


@dataclass(frozen=True)
class NoParams:
    """The chain page reads no parameter (any given is refused by name)."""
