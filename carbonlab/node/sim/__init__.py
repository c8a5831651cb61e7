"""The deterministic PBFT simulator behind `carbonlab sim` (see `world.py`)."""

from carbonlab.node.sim.world import SimResult, World, simulate

__all__ = ["SimResult", "World", "simulate"]
