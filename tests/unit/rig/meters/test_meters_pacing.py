"""The pacing relay carries bytes unchanged both ways between two real pseudo-terminals."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from carbonlab.rig.meters.pacing import PacingRelay


async def _read_exactly(fd: int, n: int) -> bytes:
    out = b""
    async with asyncio.timeout(10):
        while len(out) < n:
            try:
                out += os.read(fd, n - len(out))
            except BlockingIOError:
                await asyncio.sleep(0.005)
    return out


@pytest.mark.parametrize("paced", [True, False])
def test_bytes_cross_both_ways(tmp_path: Path, paced: bool) -> None:
    gw_link, mt_link = tmp_path / "gw", tmp_path / "mt"

    async def scenario() -> int:
        relay = PacingRelay(115200, paced=paced, gateway_link=gw_link, meter_link=mt_link)
        await relay.start()
        gw = os.open(gw_link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        mt = os.open(mt_link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            request = bytes(range(256)) * 4
            os.write(gw, request)
            assert await _read_exactly(mt, len(request)) == request
            os.write(mt, b"\x01\x04\x02\xab\xcd")
            assert await _read_exactly(gw, 5) == b"\x01\x04\x02\xab\xcd"
            return relay.bytes_relayed
        finally:
            os.close(gw)
            os.close(mt)
            await relay.stop()

    assert asyncio.run(scenario()) == 1024 + 5
    assert not gw_link.exists()
    assert not mt_link.exists()
