"""Host control: facts and operations on the hosts of a lab, the same calls on every provider."""

from carbonlab.rig.hosts.base import HostControl, ServiceFacts, Shell
from carbonlab.rig.hosts.service import ServiceHost

__all__ = ["HostControl", "ServiceFacts", "ServiceHost", "Shell"]
