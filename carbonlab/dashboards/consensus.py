"""The consensus dashboard: is the consortium alive, in agreement and keeping up."""

from __future__ import annotations

from carbonlab.dashboards import rules
from carbonlab.dashboards.model import (
    UP_DOWN,
    UP_DOWN_TEXT,
    Dashboard,
    Panel,
    Query,
    QueryVariable,
    Threshold,
)

NODE = QueryVariable("node", "Node", 'up{job="node"}', "member")
M = 'member=~"$node"'

MEMBERS_UP = Panel(
    "Members up",
    "stat",
    (Query(f'up{{job="node", {M}}}', "{{member}}", instant=True),),
    description="Scrape health of each member, read raw (not through a rule): a killed member turns red "
    "at the first failed scrape.",
    width=24,
    height=4,
    thresholds=UP_DOWN,
    mappings=UP_DOWN_TEXT,
)


HEIGHT = Panel(
    "Height per member",
    "timeseries",
    (Query(f"member:carbonlab_height:max{{{M}}}", "{{member}}"),),
    description="The legend shows each member's latest height; a killed member's line stops.",
    width=12,
    decimals=0,
    legend_calcs=("lastNotNull",),
)

LAG = Panel(
    "Blocks behind the highest member",
    "stat",
    (Query(f"member:carbonlab_lag_blocks:current{{{M}}}", "{{member}}", instant=True),),
    description=f"{rules.LAG_BLOCKS} or more blocks behind is lagging (CarbonlabMemberLagging).",
    width=12,
    thresholds=(Threshold("green", None), Threshold("yellow", 1), Threshold("red", rules.LAG_BLOCKS)),
    decimals=0,
)

VIEW = Panel(
    "View",
    "stat",
    (Query(f"max(member:carbonlab_view:max{{{M}}})", "view", instant=True),),
    width=4,
    height=5,
    decimals=0,
    text_mode="value",
)

PRIMARY = Panel(
    "Primary",
    "stat",
    (Query(f"member:carbonlab_is_primary:max{{{M}}} == 1", "{{member}}", instant=True),),
    width=4,
    height=5,
    text_mode="name",
)

PEERS = Panel(
    "Peers connected",
    "stat",
    (Query(f"member:carbonlab_peers_connected:max{{{M}}}", "{{member}}", instant=True),),
    description="Each member should reach the 6 others; below 4 it cannot form a 2f+1 quorum alone.",
    width=16,
    height=5,
    decimals=0,
    thresholds=(Threshold("red", None), Threshold("yellow", 4), Threshold("green", 6)),
)

VIEW_PER_MEMBER = Panel(
    "View per member",
    "timeseries",
    (Query(f"member:carbonlab_view:max{{{M}}}", "{{member}}"),),
    width=12,
    decimals=0,
)

VIEW_CHANGES = Panel(
    "View changes (10 min)",
    "timeseries",
    (Query(f"member:carbonlab_view_changes:increase10m{{{M}}}", "{{member}}"),),
    width=12,
    thresholds=(Threshold("green", None), Threshold("red", rules.VIEW_CHANGE_STORM)),
)

COMMIT_LATENCY = Panel(
    "Commit latency (all members)",
    "timeseries",
    (Query("cluster_quantile:carbonlab_commit_latency_seconds:rate5m", "q{{quantile}}"),),
    width=12,
    unit="s",
)

COMMIT_LATENCY_P99 = Panel(
    "Commit latency p99 per member",
    "timeseries",
    (
        Query(
            f'member_quantile:carbonlab_commit_latency_seconds:rate5m{{quantile="0.99", {M}}}',
            "{{member}}",
        ),
    ),
    width=12,
    unit="s",
)

THROUGHPUT = Panel(
    "Throughput",
    "timeseries",
    (
        Query("cluster:carbonlab_blocks_committed:rate5m", "blocks/s"),
        Query("cluster:carbonlab_readings_committed:rate5m", "readings/s"),
    ),
    width=12,
)

MESSAGES = Panel(
    "Messages by type",
    "timeseries",
    (
        Query(
            f"sum by (type, direction) (member_type_direction:carbonlab_messages:rate5m{{{M}}})",
            "{{type}} {{direction}}",
        ),
    ),
    width=12,
    unit="reqps",
)

PEER_LINKS = Panel(
    "Peer connectivity",
    "state-timeline",
    (Query(f"member_peer:carbonlab_peer_up:max{{{M}}}", "{{member}} → {{peer}}"),),
    width=24,
    height=12,
    thresholds=UP_DOWN,
    mappings=UP_DOWN_TEXT,
)

STATE_TRANSFERS = Panel(
    "State transfers (1 h)",
    "timeseries",
    (Query(f"member:carbonlab_state_transfers:increase1h{{{M}}}", "{{member}}"),),
    width=12,
)

FRAME_ERRORS = Panel(
    "Frame errors",
    "timeseries",
    (Query(f"member_reason:carbonlab_frame_errors:rate5m{{{M}}}", "{{member}} {{reason}}"),),
    width=12,
    unit="reqps",
)


def dashboard() -> Dashboard:
    panels = (
        MEMBERS_UP,
        HEIGHT,
        LAG,
        VIEW,
        PRIMARY,
        PEERS,
        VIEW_PER_MEMBER,
        VIEW_CHANGES,
        COMMIT_LATENCY,
        COMMIT_LATENCY_P99,
        THROUGHPUT,
        MESSAGES,
        PEER_LINKS,
        STATE_TRANSFERS,
        FRAME_ERRORS,
    )
    return Dashboard(
        "carbonlab-consensus",
        "carbonlab / Consensus",
        "PBFT consortium: liveness, heights, views, latency, traffic and connectivity.",
        panels,
        (NODE,),
    )
