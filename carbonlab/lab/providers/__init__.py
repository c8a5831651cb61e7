"""Host providers: `local` (directories and loopback ports), `netns` (namespaces, root), `ssh`."""

from __future__ import annotations

from pathlib import Path

from carbonlab.lab.errors import ProviderError
from carbonlab.lab.providers.base import Progress, Provider
from carbonlab.lab.providers.local import LocalProvider
from carbonlab.lab.providers.netns import NetnsProvider
from carbonlab.lab.providers.ssh import SshProvider
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology

PROVIDERS: dict[str, type[Provider]] = {cls.name: cls for cls in (LocalProvider, NetnsProvider, SshProvider)}


def make_provider(name: str, topo: Topology, lab_dir: Path, state: LabState,
                  progress: Progress) -> Provider:
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"unknown provider {name!r} (allowed: {', '.join(PROVIDERS)})") from None
    return cls(topo, lab_dir, state, progress)
