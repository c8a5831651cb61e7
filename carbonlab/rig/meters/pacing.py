"""A serial line made of two pseudo-terminals and a relay that paces bytes to a baud rate.

Theory of operation. A pty delivers bytes as fast as the kernel copies them and ignores
the baud rate, so an RTU test over a plain pty pair says nothing about timing. The relay
owns two pty pairs: the gateway opens one slave (`gateway_port`), the meters' server
opens the other (`meter_port`), and the relay copies bytes between the two masters. The
line is half duplex and shared: a chunk of n bytes occupies it for n * bits_per_char /
baudrate seconds after the line is free, and is delivered when its last byte would have
arrived (`bits_per_char` = start + data + parity + stop bits, 10 for 8N1). Frame rates
measured through the relay are therefore the ones a real 9600 baud line allows, within
the event loop's timer accuracy.

Stable paths are symlinks (`gateway_link`, `meter_link`) to the /dev/pts names. The
relay keeps each slave open itself so that reading a master never fails with EIO
while nobody has the port open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import time
import tty
from pathlib import Path


class PacingRelay:
    def __init__(self, baudrate: int, *, bits_per_char: int = 10, paced: bool = True,
                 gateway_link: Path | None = None, meter_link: Path | None = None) -> None:
        self.char_s = bits_per_char / baudrate
        self.paced = paced
        self._links = [p for p in (gateway_link, meter_link) if p is not None]
        self._gw_master, self._gw_slave = os.openpty()
        self._mt_master, self._mt_slave = os.openpty()
        for fd in (self._gw_slave, self._mt_slave):
            tty.setraw(fd, termios.TCSANOW)
        for fd in (self._gw_master, self._mt_master):
            os.set_blocking(fd, False)
        self.gateway_port = os.ttyname(self._gw_slave)
        self.meter_port = os.ttyname(self._mt_slave)
        for link, target in ((gateway_link, self.gateway_port), (meter_link, self.meter_port)):
            if link is not None:
                link.unlink(missing_ok=True)
                link.symlink_to(target)
        self._line_free_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.bytes_relayed = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for src, dst in ((self._gw_master, self._mt_master), (self._mt_master, self._gw_master)):
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            loop.add_reader(src, self._on_readable, src, queue)
            self._tasks.append(asyncio.create_task(self._deliver(queue, dst)))

    def _on_readable(self, fd: int, queue: asyncio.Queue[bytes]) -> None:
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:   # EIO: the other side closed; the relay's own slave fd keeps this rare
            return
        if data:
            queue.put_nowait(data)

    async def _deliver(self, queue: asyncio.Queue[bytes], dst: int) -> None:
        while True:
            data = await queue.get()
            if self.paced:
                start = max(time.monotonic(), self._line_free_at)
                self._line_free_at = start + len(data) * self.char_s
                delay = self._line_free_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            view = memoryview(data)
            while view:
                try:
                    n = os.write(dst, view)
                except BlockingIOError:
                    await asyncio.sleep(0.001)
                    continue
                view = view[n:]
            self.bytes_relayed += len(data)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for fd in (self._gw_master, self._mt_master):
            loop.remove_reader(fd)
        for fd in (self._gw_master, self._mt_master, self._gw_slave, self._mt_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        for link in self._links:
            link.unlink(missing_ok=True)
