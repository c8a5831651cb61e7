#!/usr/bin/python
"""Ansible module: write genesis.json from the lab's spec and the public keys made on the hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: carbonlab_genesis
short_description: Write a carbonlab genesis.json from a spec and gathered public keys
description:
  - Merges the public key (and peer ID) of every member and gateway into the lab's genesis spec,
    validates the result with carbonlab.node.genesis.Genesis and writes it atomically when it differs.
  - Runs on the controller, whose Python has carbonlab installed.
options:
  spec:
    description: Genesis without keys (chain_id, n, f, params, members, gateways, meters).
    type: dict
    required: true
  keys:
    description: List of dicts, each mapping a member or gateway id to {public_key, peer_id}.
    type: list
    elements: dict
    required: true
  dest:
    description: Where genesis.json goes on the controller.
    type: path
    required: true
"""

import json
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={
        "spec": {"type": "dict", "required": True},
        "keys": {"type": "list", "elements": "dict", "required": True},
        "dest": {"type": "path", "required": True},
    }, supports_check_mode=True)
    try:
        from carbonlab.node.errors import NodeError
        from carbonlab.node.genesis import Genesis
    except ImportError as exc:
        module.fail_json(msg=f"carbonlab is not importable by {module._name} ({exc}); "
                             "run it with the controller's carbonlab Python")
        return
    spec = module.params["spec"]
    keys: dict[str, dict[str, str]] = {}
    for part in module.params["keys"]:
        keys.update(part or {})
    members, gateways = [], []
    for m in spec["members"]:
        if m["id"] not in keys:
            module.fail_json(msg=f"no public key gathered for member {m['id']}")
        members.append({**m, "public_key": keys[m["id"]]["public_key"],
                        "peer_id": keys[m["id"]].get("peer_id", "")})
    for g in spec["gateways"]:
        if g["id"] not in keys:
            module.fail_json(msg=f"no public key gathered for gateway {g['id']}")
        gateways.append({**g, "public_key": keys[g["id"]]["public_key"]})
    raw = {**spec, "members": members, "gateways": gateways}
    try:
        genesis = Genesis.from_json(raw)
    except NodeError as exc:
        module.fail_json(msg=f"genesis is not valid: {exc}")
        return
    text = json.dumps(genesis.to_json(), indent=2) + "\n"
    dest = Path(module.params["dest"])
    old = dest.read_text() if dest.exists() else None
    changed = old != text
    if changed and not module.check_mode:
        genesis.save(dest)
    module.exit_json(changed=changed, dest=str(dest), hash=genesis.hash.hex())


if __name__ == "__main__":
    main()
