"""`carbonlab meters serve --config METERS.yaml` (emulated meters) and `carbonlab meters read`
(one decoded read of any meter, emulated or physical)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError
from carbonlab.logs import LEVELS

log = logging.getLogger("carbonlab.rig.meters")


def register(sub: Any) -> None:
    parser = sub.add_parser("meters", help="emulated CEMS meters: serve them, read any meter")
    msub = parser.add_subparsers(dest="meters_command", metavar="ACTION")
    serve = msub.add_parser("serve", help="serve the meters of a METERS.yaml until SIGINT/SIGTERM")
    serve.add_argument("--config", required=True, type=Path, help="METERS.yaml")
    serve.add_argument("--log-level", choices=LEVELS, default="info",
                       help="JSON lines on stderr from this level up (default %(default)s)")
    serve.set_defaults(func=_serve)
    read = msub.add_parser("read", help="one decoded read of one meter (prints JSON)")
    read.add_argument("--register-map", required=True, help="built-in map name or a YAML map file")
    read.add_argument("--transport", choices=("tcp", "rtu"), default="tcp")
    read.add_argument("--host", default="127.0.0.1")
    read.add_argument("--port", type=int, default=502)
    read.add_argument("--serial-port")
    read.add_argument("--baudrate", type=int, default=9600)
    read.add_argument("--parity", default="N")
    read.add_argument("--device-id", type=int, default=1)
    read.add_argument("--timeout-s", type=float, default=1.0)
    read.set_defaults(func=_read)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def quiet_pymodbus() -> None:
    """pymodbus logs every timeout and refused request as an error with a hex dump; the meters and
    the poller report those themselves (truth log, Sample.detail)."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from carbonlab import logs
    from carbonlab.rig.meters.config import load_meters_config

    logs.setup("meters", {"meters": str(args.config)}, args.log_level, {"pymodbus": logging.CRITICAL})
    from carbonlab.rig.meters.process import MetersProcess

    config = load_meters_config(args.config)

    async def main() -> None:
        process = MetersProcess(config)
        task = asyncio.create_task(process.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        ready = asyncio.create_task(process.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if process.ready.is_set():
            ctl = process.control
            control = f" control http://{ctl.host}:{ctl.port}" if ctl else ""
            print(f"serving {len(process.meters)} meters on {len(process.servers)} servers{control}",
                  flush=True)
            log.info("serving %d meters on %d servers%s", len(process.meters), len(process.servers),
                     control, extra={"meter_ids": ",".join(m for m in process.meters)})
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    return 0


def _read(args: argparse.Namespace) -> int:
    import asyncio

    from carbonlab.gateway.endpoint import MeterEndpoint
    from carbonlab.gateway.poller import read_once

    quiet_pymodbus()

    d: dict[str, Any] = {"id": "cli", "register_map": args.register_map, "transport": args.transport,
                         "device_id": args.device_id, "timeout_s": args.timeout_s}
    if args.transport == "tcp":
        if args.serial_port is not None:     # as a config's [[meters]] table refuses it
            raise CarbonlabError("--serial-port: only with --transport rtu (a TCP meter has --host "
                                 "and --port)")
        d.update(host=args.host, port=args.port)
    else:
        d.update(serial_port=args.serial_port or "", baudrate=args.baudrate, parity=args.parity)
    endpoint = MeterEndpoint.from_dict(d, Path("<command line>"))
    sample = asyncio.run(read_once(endpoint))
    print(json.dumps({"status": sample.status.value, "values": sample.values, "detail": sample.detail,
                      "latency_s": round(sample.latency_s, 6)}))
    return 0 if sample.status.value != "comm_fault" else 1
