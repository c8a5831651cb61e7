"""What `gateway run` checks before it creates anything: the data dir can be one, and the
metrics address can be listened on.

`GatewayService` validates the config against genesis and the key first, then these, and only
then creates the data dir and `gateway.db`: a config that fails leaves no file behind (a
`gateway_id` genesis does not name, a `metrics_listen` in use used to leave an empty database).
Each failure is a `ConfigError` naming the file and the field.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from carbonlab.fields import HostPort
from carbonlab.gateway.config import GatewayConfig
from carbonlab.gateway.errors import ConfigError


def check(cfg: GatewayConfig) -> None:
    data_dir_problem = _data_dir_problem(cfg.data_dir)
    if data_dir_problem is not None:
        raise ConfigError(f"{cfg.path}: field 'data_dir': {cfg.data_dir}: {data_dir_problem}")
    if cfg.metrics_listen:
        _check_listen(cfg)


def _data_dir_problem(data_dir: Path) -> str | None:
    """Why `data_dir` cannot be the gateway's data dir (an existing one, or one `mkdir -p` can
    make), None when it can."""
    if data_dir.exists():
        if not data_dir.is_dir():
            return "exists and is not a directory"
        db = data_dir / "gateway.db"
        if db.exists() and not db.is_file():
            return f"{db.name} exists and is not a regular file"
        if not os.access(data_dir, os.W_OK | os.X_OK):
            return "not writable"
        return None
    parent = data_dir.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable"
    return None


def _check_listen(cfg: GatewayConfig) -> None:
    address = HostPort.parse(cfg.metrics_listen)
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the HTTP server binds
            probe.bind((address.host, address.port))
    except OSError as exc:
        raise ConfigError(f"{cfg.path}: field 'metrics_listen': cannot listen on {cfg.metrics_listen} "
                          f"({exc.strerror or exc})") from None
