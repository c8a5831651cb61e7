"""carbonlab: infrastructure-as-code lab and hardware-in-the-loop rig for a PBFT carbon ledger."""

__version__ = "0.1.0"
