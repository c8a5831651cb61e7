"""Names the lab lends to tools that change a running lab from outside (the rig's faults).

A tool that adds an nft table to a lab's network names it with `nft_table_prefix(lab_id)`;
`lab down` removes every table so named, so a tool killed before it could undo its change
leaves nothing behind. The lab owns the names and their cleanup; it does not know which
tool made a table or why (the rig imports this, the lab never imports the rig).
"""

from __future__ import annotations


def nft_table_prefix(lab_id: str) -> str:
    """The start of the name of every nft table lent to tools on lab `lab_id`."""
    return f"clrig_{lab_id}_"
