"""Names the command line offers before anything heavy is imported: the providers and the
shipped default topology. `topology` takes them from here, so `carbonlab lab --help` lists
them without loading the topology model (and YAML, the gateway's fields...)."""

from __future__ import annotations

from pathlib import Path

PROVIDERS = ("local", "netns", "ssh")
DEFAULT_TOPOLOGY = Path(__file__).with_name("topologies") / "default.yaml"
