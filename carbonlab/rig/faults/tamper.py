"""Faults on what is stored: a node's ledger altered on disk, and a gateway's outbox disk filled.

Ledger tampering edits the SQLite file under the running node (WAL lets it), through the
host's own Python (the interpreter the node runs on), exactly as an insider with file
access could; the offline verifier (`verify_ledger`) must then name the node and height.
Heal writes back the value it replaced.
"""

from __future__ import annotations

import json
import shlex

from carbonlab.rig.errors import FaultError, HostError
from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.context import FaultContext, ServiceRef
from carbonlab.rig.faults.records import FaultOutcome

TAMPER = r"""
import json, sqlite3, sys
path, what, height, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
db = sqlite3.connect(path, timeout=10)
if what == "reading":
    row = db.execute("SELECT rowid, meter_id, seq, height, co2_kg FROM readings WHERE height >= ? "
                     "ORDER BY height, rowid LIMIT 1", (height,)).fetchone()
    if row is None:
        sys.exit("no reading at or above height %d" % height)
    new = float(value) if value != "-" else row[4] * 1.25 + 1.0
    db.execute("UPDATE readings SET co2_kg = ? WHERE rowid = ?", (new, row[0]))
    out = {"rowid": row[0], "meter": row[1], "seq": row[2], "height": row[3], "old": row[4], "new": new}
else:
    row = db.execute("SELECT height, idx, request FROM batches WHERE height >= ? "
                     "ORDER BY height, idx LIMIT 1", (height,)).fetchone()
    if row is None:
        sys.exit("no batch at or above height %d" % height)
    data = bytearray(row[2])
    if value == "-":
        data[len(data) // 2] ^= 0x01
    else:
        data = bytearray(bytes.fromhex(value))
    db.execute("UPDATE batches SET request = ? WHERE height = ? AND idx = ?", (bytes(data), row[0], row[1]))
    out = {"height": row[0], "idx": row[1], "old": bytes(row[2]).hex()}
db.commit()
print(json.dumps(out))
"""


def _python(ref: ServiceRef) -> str:
    facts = ref.host.service(ref.service)
    if not facts.argv:
        raise HostError(f"{ref.service} is not running; its interpreter is unknown")
    return facts.argv[0]


class LedgerTamper(Fault):
    id = "node.tamper_ledger"
    summary = "alter a committed reading's CO2 (or a stored batch's bytes) in a node's ledger file"
    target_kind = "node"
    PARAMS = {"height": Param(int, 1, "first height to look for a reading or batch at", minimum=1),
              "what": Param(str, "reading", "what to alter", choices=("reading", "batch"))}
    heal_after_checks = True   # the checks must find the alteration; it is written back after them

    def outcome(self) -> FaultOutcome:
        height = self.undo.get("height")
        return FaultOutcome(tampered_height=int(str(height)) if height is not None else None)

    def _run(self, ctx: FaultContext, value: str, height: int) -> dict[str, object]:
        ref = ctx.node(self.target)
        path = ref.data_dir / "ledger.sqlite"
        command = shlex.join([_python(ref), "-c", TAMPER, str(path), self.params["what"], str(height), value])
        done = ref.host.run(command)
        if done.rc != 0:
            why = (done.stderr or done.stdout).strip()[-300:]
            raise FaultError(f"fault {self.id} on {self.target}: {why}")
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def apply(self, ctx: FaultContext) -> str:
        self.undo = self._run(ctx, "-", self.params["height"])
        u = self.undo
        where = (f"reading {u['meter']}/{u['seq']} co2_kg {u['old']} -> {u['new']}"
                 if self.params["what"] == "reading" else f"batch {self.undo['idx']} request bytes")
        return f"tampered {self.target}'s ledger at height {self.undo['height']}: {where}"

    def heal(self, ctx: FaultContext) -> str:
        if not self.undo:
            return "nothing to heal"
        old = self.undo["old"]
        value = repr(old) if self.params["what"] == "reading" else str(old)
        self._run(ctx, value, int(str(self.undo["height"])))
        done, self.undo = self.undo, {}
        return f"restored height {done['height']}"


class DiskFull(Fault):
    id = "gateway.disk_full"
    summary = "fill the filesystem holding the gateway's outbox"
    target_kind = "gateway"
    PARAMS = {"max_fill_mb": Param(int, 512, "refuse when more than this much would have to be written",
                                   minimum=1)}

    def _files(self, ref: ServiceRef) -> tuple[str, str]:
        base = ref.data_dir / ".carbonlab-rig-disk-full"
        return str(base), str(base) + ".tail"

    def apply(self, ctx: FaultContext) -> str:
        ref = ctx.gateway(self.target)
        done = ref.host.run(f"df -P -B1 {shlex.quote(str(ref.data_dir))} | tail -n 1")
        try:
            free = int(done.stdout.split()[3])
        except (IndexError, ValueError):
            raise HostError(f"{ref.host_id}: cannot read free space of {ref.data_dir}: "
                            f"{done.stdout!r}") from None
        if free > self.params["max_fill_mb"] * 2**20:
            raise FaultError(f"fault {self.id}: {ref.data_dir} has {free // 2**20} MiB free, more than "
                             f"max_fill_mb={self.params['max_fill_mb']}; "
                             "put the outbox on a small filesystem")
        big, tail = self._files(ref)
        self.undo = {"files": [big, tail]}
        ref.host.run(f"fallocate -l {max(free - 65536, 4096)} {shlex.quote(big)}; "
                     f"dd if=/dev/zero of={shlex.quote(tail)} bs=4096 status=none; sync", timeout_s=120)
        left = ref.host.run(f"df -P -B1 {shlex.quote(str(ref.data_dir))} | tail -n 1").stdout.split()[3]
        return f"filled {ref.data_dir} on {ref.host_id}: {free} -> {left} bytes free"

    def heal(self, ctx: FaultContext) -> str:
        ref = ctx.gateway(self.target)
        files = self.undo.get("files") or list(self._files(ref))
        ref.host.run("rm -f " + " ".join(shlex.quote(f) for f in files))
        return f"removed {', '.join(files)}"
