from __future__ import annotations

import json
import subprocess
from pathlib import Path

import multiaddr

from carbonlab.bench.localcluster import CLI
from carbonlab.node.crypto import Signer
from carbonlab.node.p2p.host import P2PNode
from carbonlab.node.p2p.identity import peer_id_text


def test_keygen_prints_the_peer_id_the_host_will_have(tmp_path: Path) -> None:
    key = tmp_path / "n1.key"
    out = subprocess.run([*CLI, "node", "keygen", "--out", str(key)], capture_output=True, text=True,
                         timeout=60, check=True)
    made = json.loads(out.stdout)
    signer = Signer.load(key)
    assert made["public_key"] == signer.public_key.hex()
    assert made["peer_id"] == peer_id_text(signer.public_key)
    node = P2PNode("n1", Signer.load(key), multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0"), [])
    assert str(node.peer_id) == made["peer_id"]
    again = subprocess.run([*CLI, "node", "keygen", "--out", str(key)], capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert Signer.load(key).public_key == signer.public_key
