"""Host providers: `local` (directories and loopback ports), `netns` (namespaces, root), `ssh`."""

from __future__ import annotations

from pathlib import Path

from carbonlab.lab.errors import ProviderError
from carbonlab.lab.providers.base import HostLink, LabNetwork, Progress, Provider
from carbonlab.lab.providers.local import LocalProvider
from carbonlab.lab.providers.netns import NetnsProvider
from carbonlab.lab.providers.ssh import SshProvider
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology

PROVIDERS: dict[str, type[Provider]] = {cls.name: cls for cls in (LocalProvider, NetnsProvider, SshProvider)}


__all__ = ["PROVIDERS", "HostLink", "LabNetwork", "Progress", "Provider", "make_provider", "provider_class"]


def provider_class(name: str) -> type[Provider]:
    """The provider called `name`: what its hosts are like is asked of the class."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"unknown provider {name!r} (allowed: {', '.join(PROVIDERS)})") from None


def make_provider(name: str, topo: Topology, lab_dir: Path, state: LabState,
                  progress: Progress) -> Provider:
    return provider_class(name)(topo, lab_dir, state, progress)
