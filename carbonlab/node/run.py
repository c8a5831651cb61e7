"""Running one node process: logging, the trio loop, and a clean stop on SIGTERM or SIGINT.

`carbonlab node run` and the rig's Byzantine node (`carbonlab.rig.byzantine`) both start a
node here, so neither needs the other: the rig passes its lies as the driver's
`outbound_filter` instead of going through the CLI.
"""

from __future__ import annotations

import logging
import signal

import trio

from carbonlab import logs
from carbonlab.node.config import NodeConfig
from carbonlab.node.driver import OutboundFilter
from carbonlab.node.service import NodeService

# py-libp2p's own chatter only from warning up; it logs expected dial failures to absent peers
# at ERROR, and our link stats count those
NODE_QUIET = {"libp2p": logging.WARNING, "multiaddr": logging.WARNING, "hypercorn.access": logging.WARNING,
              "async_service": logging.WARNING, "libp2p.transport.tcp.tcp": logging.CRITICAL,
              "libp2p.network.swarm": logging.CRITICAL}


def run_node(cfg: NodeConfig, *, outbound_filter: OutboundFilter | None = None) -> int:
    """Run the node of `cfg` until SIGTERM or SIGINT; 0 on a clean stop."""
    logs.setup("node", {"member": cfg.member_id}, cfg.log_level, NODE_QUIET)
    service = NodeService(cfg, outbound_filter=outbound_filter)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            await service.run()

    trio.run(main)
    return 0


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            scope.cancel()
            return
