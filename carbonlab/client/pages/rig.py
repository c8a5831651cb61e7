"""The rig page: each scenario run's verdict, fault timeline and invariant results.

Data: the `run.json` files under `<lab-dir>/rig-reports/` (`client.rigruns`; run the rig
with `carbonlab rig run --report <lab-dir>/rig-reports`), re-read every refresh, so a run
shows up when it ends. Without `--lab-dir` the page says so. The page reads no parameter.

Test ids: `rig-runs` (one `rig-run-<scenario>` section per run, with `data-verdict`),
`faults-<scenario>` (rows `fault-<scenario>-<i>`), `invariants-<scenario>` (rows
`invariant-<scenario>-<name>` with `data-passed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client.params import read_params

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


@dataclass(frozen=True)
class RigParams:
    """The rig page reads no parameter."""


async def view(console: Console, request: Request) -> dict[str, Any]:
    import anyio

    from carbonlab.client.rigruns import REPORTS, runs

    read_params(RigParams, request.query_params.multi_items())
    found = await anyio.to_thread.run_sync(runs, console.lab_dir)
    where = None if console.lab_dir is None else console.lab_dir / REPORTS
    return {"runs": found, "where": where}
