"""yamux receive-window credit by half, as go-yamux does it (installed by `P2PNode.run`).

py-libp2p 0.8's `YamuxStream` sends a WINDOW_UPDATE frame after nearly every read: its
"partial slack" rule credits whatever was consumed whenever the window is below its target
by less than the hysteresis threshold, which after any read it is, and the switch
`PY_YAMUX_RELEASE_ON_READ=0` does not reach that rule. A member reads one consensus frame at
a time, so each frame received cost one more encrypted frame back and its handling on both
sides (in `bench consensus` at 500 readings/s: 556 window updates a second per member, about
half of all the frames it wrote). go-yamux's rule (`sendWindowUpdate`: no update while the
consumed part is under half the window) is flow control all the same: the sender keeps at
least half a window of credit and waits for the update past it, and the receiver, reading
on, sends that update once half the window is consumed. Auto-tuning of the window (doubling
it when updates come within four round trips) is py-libp2p's own and kept.

The replacement uses the stream's own attributes and helpers; `install` checks they are
there (pyproject pins libp2p 0.8.*), and `tests/unit/node/p2p/test_yamux_credit.py` counts
the updates over real sockets and sends a message larger than the window through.
"""

from __future__ import annotations

from typing import Any

from libp2p.stream_muxer.yamux.yamux import YamuxStream

_HELPERS = ("_grow_threshold", "_grow_to_delta", "_apply_autotune_epoch", "send_window_update",
            "_auto_tune_and_send_window_update")


async def credit_by_half(self: Any, *, bytes_read: int = 0) -> None:
    """After a read: credit the peer with what was consumed once it reaches half the window
    (`_grow_threshold`), in one WINDOW_UPDATE; below that, nothing. `bytes_read` is the
    library's argument; the consumed amount is read off the window itself."""
    increment = 0
    async with self.window_lock:
        buffered = len(self.conn.stream_buffers.get(self.stream_id, b""))
        consumed = self.target_recv_window - (self.recv_window + buffered)
        if consumed > 0 and consumed >= self._grow_threshold():
            increment = self._grow_to_delta(buffered) + self._apply_autotune_epoch(buffered)
            self._pending_recv_release = 0
    if increment > 0:
        # never under window_lock: the handler of the peer's WINDOW_UPDATE frames needs it
        await self.send_window_update(increment, skip_lock=True)


def install() -> None:
    """Make every yamux stream of this process credit by half (idempotent)."""
    missing = [name for name in _HELPERS if not hasattr(YamuxStream, name)]
    if missing:
        raise RuntimeError(f"libp2p's YamuxStream lacks {', '.join(missing)}: the window-credit "
                           "rule in carbonlab/node/p2p/yamux_credit.py needs a review for this "
                           "libp2p version")
    YamuxStream._auto_tune_and_send_window_update = credit_by_half  # type: ignore[method-assign]
