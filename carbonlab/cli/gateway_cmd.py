"""`carbonlab gateway run|keygen|outbox|forecast`: the edge gateway process and its tools."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError


def register(sub: Any) -> None:
    parser = sub.add_parser("gateway", help="the Modbus edge gateway: run, keygen, outbox")
    gsub = parser.add_subparsers(dest="gateway_command", metavar="ACTION")

    p_run = gsub.add_parser("run", help="poll meters, sign batches and upload them until SIGTERM")
    p_run.add_argument("--config", type=Path, required=True, help="GATEWAY.toml")
    p_run.set_defaults(func=_run)

    p_key = gsub.add_parser("keygen", help="write a new Ed25519 gateway key; print its public key")
    p_key.add_argument("--out", type=Path, required=True, help="key file to create (never overwritten)")
    p_key.set_defaults(func=_keygen)

    p_out = gsub.add_parser("outbox", help="show the outbox, dead letters and counters of a gateway")
    p_out.add_argument("--config", type=Path, required=True, help="GATEWAY.toml")
    p_out.add_argument("--limit", type=int, default=20, help="batches to list (default %(default)s)")
    p_out.set_defaults(func=_outbox)

    p_fc = gsub.add_parser("forecast-eval",
                           help="forecast error (MAPE, MAE) on held-out emulated data (docs/forecast.md)")
    p_fc.add_argument("--seed", type=int, default=42)
    p_fc.add_argument("--days", type=int, default=21, help="days of emulated hourly history")
    p_fc.add_argument("--holdout-days", type=int, default=7)
    p_fc.add_argument("--horizon-h", type=int, default=6, help="hours ahead per forecast")
    p_fc.set_defaults(func=_forecast_eval)


def _run(args: argparse.Namespace) -> int:
    from carbonlab.gateway import config, service

    service.run(config.load(args.config))
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from carbonlab.node.crypto import Signer

    signer = Signer.generate()
    try:
        signer.save(args.out)
    except CarbonlabError as exc:       # the file, and why (a directory, a read-only folder...)
        raise CarbonlabError(f"--out {exc}") from None
    print(json.dumps({"public_key": signer.public_key.hex(), "key_file": str(args.out)}))
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from carbonlab.gateway import config
    from carbonlab.gateway.outboxview import report

    cfg = config.load(args.config)
    if not cfg.db_path.exists():
        raise CarbonlabError(f"{cfg.db_path}: no gateway database yet (has the gateway run?)")
    if not cfg.db_path.is_file():
        raise CarbonlabError(f"{cfg.db_path}: not a gateway database (not a regular file)")
    print(json.dumps(report(cfg.db_path, cfg.gateway_id, args.limit), indent=2))
    return 0


def _forecast_eval(args: argparse.Namespace) -> int:
    from carbonlab.bench.forecast_eval import evaluate_emulated

    result = evaluate_emulated(seed=args.seed, days=args.days, holdout_days=args.holdout_days,
                               horizon_h=args.horizon_h)
    print(json.dumps(result, indent=2))
    return 0
