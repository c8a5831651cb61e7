"""The console's settings, checked once where they are read (the command line).

`ClientConfig` declares every option's default and rule with `carbonlab.fields`; `load`
reads the genesis, the token and the member into a ready `Console`. A refresh interval is
at most 2 s (the pages promise to be live within it); the node's URL must be http(s).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab import fields
from carbonlab.asgi import DEFAULT_BODY_TIMEOUT_S
from carbonlab.client import ClientError
from carbonlab.fields import HostPort, spec

DEFAULT_LISTEN = "127.0.0.1:8090"
# the command line's name of a field where it is not the field's own
OPTION = {"node_url": "node", "genesis_file": "genesis", "member_id": "member", "key_file": "key"}


@dataclass(frozen=True)
class ClientConfig:
    node_url: str = spec(pattern=r"https?://[^\s/?#]+(/[^\s?#]*)?")
    token_file: Path = spec()
    genesis_file: Path = spec()
    listen: HostPort = spec(HostPort.parse(DEFAULT_LISTEN), read=HostPort.parse)
    member_id: str | None = spec(None, pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
    key_file: Path | None = spec(None)
    lab_dir: Path | None = spec(None)
    refresh_s: float = spec(1.0, lo=0.2, hi=2.0)
    timeout_s: float = spec(5.0, lo=0.1, hi=60.0)
    # a request body must arrive within this, plus 1 s per 500 bytes, or it is answered 408 and
    # the connection closed (carbonlab/asgi.py's BodyGuard)
    body_timeout_s: float = spec(DEFAULT_BODY_TIMEOUT_S, lo=1.0, hi=600.0)

    @classmethod
    def from_options(cls, raw: dict[str, Any]) -> ClientConfig:
        try:
            return fields.build(cls, {k: v for k, v in raw.items() if v is not None}, file="options")
        except fields.FieldError as exc:
            option = OPTION.get(exc.field, exc.field).replace("_", "-")
            raise ClientError(f"--{option}: {exc.problem}") from None
