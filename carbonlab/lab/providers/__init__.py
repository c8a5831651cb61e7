"""Host providers: `local` (directories and loopback ports), `netns` (namespaces, root), `ssh`."""

from __future__ import annotations

from pathlib import Path

from carbonlab.lab.errors import ProviderError
from carbonlab.lab.providers.base import Progress, Provider
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology


def make_provider(name: str, topo: Topology, lab_dir: Path, state: LabState,
                  progress: Progress) -> Provider:
    if name == "local":
        from carbonlab.lab.providers.local import LocalProvider
        return LocalProvider(topo, lab_dir, state, progress)
    if name == "netns":
        from carbonlab.lab.providers.netns import NetnsProvider
        return NetnsProvider(topo, lab_dir, state, progress)
    if name == "ssh":
        from carbonlab.lab.providers.ssh import SshProvider
        return SshProvider(topo, lab_dir, state, progress)
    raise ProviderError(f"unknown provider {name!r} (allowed: local, netns, ssh)")
