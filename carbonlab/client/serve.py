"""One console process: load the settings, build the app, serve it on hypercorn (asyncio).

The console binds only the address it is given; SIGTERM and SIGINT end it gracefully
(open event streams are cut after `GRACE_S`) and remove the temporary directory of the reports
it built. It prints one line with its URL when it
listens, which the lab and `./dev demo` show.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any

from carbonlab.client import ClientError
from carbonlab.client.config import ClientConfig

GRACE_S = 1.0
log = logging.getLogger("carbonlab.client")


def console_from(config: ClientConfig, *, new_token: bool = False) -> tuple[object, str]:
    """(the Console, the token) the app is built from; ClientError names what is wrong."""
    from carbonlab.client import auth
    from carbonlab.client.context import Console
    from carbonlab.client.nodeapi import NodeApi
    from carbonlab.node.errors import NodeError
    from carbonlab.node.genesis import Genesis

    token = auth.write_token(config.token_file) if new_token else auth.load_token(config.token_file)
    try:
        genesis = Genesis.load(config.genesis_file)
    except (NodeError, OSError) as exc:
        raise ClientError(f"--genesis {config.genesis_file}: {exc}") from None
    member = None
    if config.member_id is not None:
        member = next((m for m in genesis.members if m.id == config.member_id), None)
        if member is None:
            raise ClientError(f"--member {config.member_id}: not a member of genesis "
                              f"({', '.join(genesis.member_ids)})")
    api = NodeApi(config.node_url, timeout_s=config.timeout_s)
    console = Console(api, genesis, member, refresh_s=config.refresh_s, lab_dir=config.lab_dir,
                      key_file=config.key_file)
    return console, token


def serve_console(config: ClientConfig, *, new_token: bool = False) -> int:
    from carbonlab.client.app import build_app

    console, token = console_from(config, new_token=new_token)
    # build_app mounts the application pages' POST and download routes too (approutes)
    app = build_app(console, token, body_timeout_s=config.body_timeout_s)  # type: ignore[arg-type]
    try:
        asyncio.run(_serve(app, str(config.listen)))
    except OSError as exc:
        raise ClientError(f"--listen {config.listen}: {exc.strerror or exc}") from None
    finally:
        _remove_reports(console)
    return 0


def _remove_reports(console: object) -> None:
    """The reports this process built live in its own temporary directory: gone with it (each
    run left one behind, a bundle of a big company-year is ~60 MB)."""
    from carbonlab.client.appviews import close_state

    close_state(console)  # type: ignore[arg-type]


def hypercorn_config(bind: str) -> Any:
    """The console's hypercorn settings (tests serve the real app with them). A request body's
    deadline is the app's (`carbonlab.asgi.BodyGuard`, `--body-timeout-s`), not hypercorn's
    `read_timeout`, which would also cut an event stream whose client just listens."""
    from hypercorn.config import Config

    config = Config()
    config.bind = [bind]
    config.accesslog = None
    config.errorlog = log
    config.graceful_timeout = GRACE_S
    return config


async def _serve(app: object, bind: str) -> None:
    from hypercorn.asyncio import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    config = hypercorn_config(bind)
    print(f"carbonlab client: serving http://{bind}/", file=sys.stderr, flush=True)
    await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
