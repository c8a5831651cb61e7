"""The simulator's fault modes, apart from the simulator so `carbonlab sim --help` can list
them without loading it."""

MODES = ("none", "network", "crash", "byzantine", "mixed", "paper")
