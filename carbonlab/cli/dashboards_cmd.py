"""`carbonlab dashboards build|push|check`: Grafana dashboards, provisioning and Prometheus rules."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import number
from carbonlab.dashboards import defaults


def register(sub: Any) -> None:
    parser = sub.add_parser("dashboards", help="build, check and push the Grafana dashboards and rules")
    dsub = parser.add_subparsers(dest="dashboards_command", metavar="ACTION")

    p_build = dsub.add_parser("build", help="write dashboards JSON, provisioning files and rule files")
    p_build.add_argument("--out", type=Path, required=True, help="folder to write into (created if missing)")
    p_build.add_argument(
        "--prometheus-url",
        type=_url,
        default=defaults.DEFAULT_PROMETHEUS_URL,
        help="URL Grafana uses to reach Prometheus (default %(default)s)",
    )
    p_build.add_argument(
        "--dashboards-path",
        default=defaults.DEFAULT_DASHBOARDS_PATH,
        help="where the dashboards JSON lives on the Grafana host (default %(default)s)",
    )
    p_build.add_argument(
        "--scrape-interval",
        type=_duration,
        default=defaults.DEFAULT_SCRAPE_INTERVAL,
        help="Prometheus scrape interval, for the datasource's timeInterval (default %(default)s)",
    )
    p_build.set_defaults(func=_build)

    p_push = dsub.add_parser("push", help="push the datasource and dashboards to a Grafana (grafana-client)")
    p_push.add_argument("--url", required=True, type=_url, help="Grafana base URL, e.g. http://127.0.0.1:3000")
    p_push.add_argument("--token", default=None, help="Grafana service-account token")
    p_push.add_argument(
        "--prometheus-url",
        type=_url,
        default=defaults.DEFAULT_PROMETHEUS_URL,
        help="URL Grafana uses to reach Prometheus (default %(default)s)",
    )
    p_push.add_argument("--scrape-interval", type=_duration, default=defaults.DEFAULT_SCRAPE_INTERVAL)
    p_push.add_argument(
        "--timeout", type=number(0.001, 300), default=10.0,
        help="seconds per HTTP call, 0.001..300 (default %(default)s)"
    )
    p_push.set_defaults(func=_push)

    p_scrape = dsub.add_parser("scrape-config", help="write prometheus.yml for a list of scrape targets")
    p_scrape.add_argument(
        "--targets",
        type=Path,
        required=True,
        help="YAML/JSON list of {role, address, name, organisation?, plant?, metrics_path?}",
    )
    p_scrape.add_argument(
        "--interval", type=float, default=5.0, help="scrape interval, s (default %(default)s)"
    )
    p_scrape.add_argument("--rule-file", action="append", default=[], help="rule file path (repeatable)")
    p_scrape.add_argument("--out", type=Path, required=True, help="prometheus.yml to write")
    p_scrape.set_defaults(func=_scrape_config)

    p_fig = dsub.add_parser("figures", help="print the dashboards' key figures from Prometheus (no Grafana)")
    p_fig.add_argument("--prometheus-url", default=defaults.DEFAULT_PROMETHEUS_URL)
    p_fig.set_defaults(func=_figures)

    p_check = dsub.add_parser("check", help="fail if the committed generated files differ from the source")
    p_check.add_argument(
        "--dir", type=Path, default=defaults.GENERATED_DIR, help="folder to check (default: committed)"
    )
    p_check.set_defaults(func=_check)
    parser.set_defaults(func=lambda args: _help(parser))


# a Prometheus duration as the datasource's timeInterval takes it: "5s", "1m30s", "500ms"
_DURATION = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w|y))+")


def _url(text: str) -> str:
    """An argparse type: an http(s) URL (the one rule, `checks.url_problem`)."""
    from carbonlab.checks import url_problem

    problem = url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _duration(text: str) -> str:
    if not _DURATION.fullmatch(text) or not any(ch in "123456789" for ch in text):
        raise argparse.ArgumentTypeError(f"{text[:80]!r}: not a Prometheus duration above 0 "
                                         "(e.g. 5s, 1m30s, 500ms)")
    return text


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _build(args: argparse.Namespace) -> int:
    from carbonlab.dashboards import build

    files = build.artifacts(
        prometheus_url=args.prometheus_url,
        dashboards_path=args.dashboards_path,
        scrape_interval=args.scrape_interval,
    )
    for path in build.write(args.out, files):
        print(path)
    return 0


def _push(args: argparse.Namespace) -> int:
    from carbonlab.dashboards.push import push

    result = push(
        args.url,
        args.token,
        prometheus_url=args.prometheus_url,
        scrape_interval=args.scrape_interval,
        timeout_s=args.timeout,
    )
    print(
        json.dumps(
            {
                "folder_created": result.folder_created,
                "datasource_created": result.datasource_created,
                "dashboards": result.dashboards,
            }
        )
    )
    return 0


def _scrape_config(args: argparse.Namespace) -> int:
    import yaml

    from carbonlab import fields
    from carbonlab.dashboards import build
    from carbonlab.dashboards.errors import ScrapeTargetError
    from carbonlab.dashboards.scrape import scrape_config, targets_from_data

    try:    # bounded, UTF-8, strict YAML (JSON is YAML): the shared document reader
        data = fields.document(args.targets, "targets file", syntax="yaml")
    except fields.FieldError as exc:
        raise ScrapeTargetError(f"{args.targets}: cannot read targets: {exc.problem}") from None
    targets = targets_from_data(data, str(args.targets))
    config = scrape_config(targets, args.interval, rule_files=args.rule_file)
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    build.write(args.out.parent, {args.out.name: text})
    print(args.out)
    return 0


def _figures(args: argparse.Namespace) -> int:
    from carbonlab.dashboards import figures

    print(figures.render(figures.fetch(args.prometheus_url)))
    return 0


def _check(args: argparse.Namespace) -> int:
    from carbonlab.dashboards import build

    build.check(args.dir)
    print(f"{args.dir}: in sync")
    return 0
