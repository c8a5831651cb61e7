"""Names the command line offers before anything heavy is imported: the providers and the
shipped default topology. `topology` takes them from here, so `carbonlab lab --help` lists
them without loading the topology model (and YAML, the gateway's fields...)."""

from __future__ import annotations

from pathlib import Path

PROVIDERS = ("local", "netns", "ssh")
DEFAULT_TOPOLOGY = Path(__file__).with_name("topologies") / "default.yaml"


def client_token_file(lab_dir: Path, member: str) -> Path:
    """Where the lab keeps member `member`'s console token on the controller (mode 0600, made by
    the client role's first run; `lab status` and the demo point people to it)."""
    return lab_dir / "clients" / f"{member}.token"


def prometheus_skipped_file(lab_dir: Path) -> Path:
    """Written by the prometheus role on the controller when it skips Prometheus (not installed
    and not installable there), with the reason; removed when Prometheus runs and by `lab down`.
    `lab status` then says "not installed" instead of "NOT READY"."""
    return lab_dir / "prometheus-skipped.txt"


def node_service(member: str) -> str:
    """The service name of member `member`'s node on its host (unit, supervisor, log file)."""
    return f"node-{member}"


def gateway_service(gateway: str) -> str:
    return f"gateway-{gateway}"


def client_service(member: str) -> str:
    """Member `member`'s web console."""
    return f"client-{member}"
