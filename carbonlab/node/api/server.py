"""The API on hypercorn's trio worker, as a task in the node's own nursery."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from carbonlab.node.api.app import build_app

if TYPE_CHECKING:
    from carbonlab.node.service import NodeService


async def serve_api(node: NodeService, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    config = Config()
    host = node.config.api_host
    config.bind = [f"[{host}]:{node.config.api_port}" if ":" in host else f"{host}:{node.config.api_port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("carbonlab.node.api")
    config.graceful_timeout = 1.0
    await serve(build_app(node), config, task_status=task_status)  # type: ignore[arg-type]
