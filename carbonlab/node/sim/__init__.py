"""The deterministic PBFT simulator behind `carbonlab sim` (see `world.py`).

Import what you use from its modules (`carbonlab.node.sim.world`): this package file imports
nothing, so `carbonlab.node.sim.modes` is cheap to load on its own."""
