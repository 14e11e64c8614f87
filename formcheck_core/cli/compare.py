"""``formcheck compare VIDEO...``: threshold-rule flags vs LLM-only flags per clip, agreement per
flag and, where labels exist, the accuracy of each against them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import DEFAULT_FPS, shared_dir
from ..errors import FormcheckError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..llm.cli_options import add_llm_arguments

    parser.add_argument("videos", nargs="+", type=Path, metavar="VIDEO", help="clips to compare")
    parser.add_argument("--labels", type=Path,
                        help="labels JSON keyed by clip name (default: the shared labels_dev.json, "
                             "for clips it names)")  # fmt: skip
    parser.add_argument("--no-labels", action="store_true", help="do not look for labels")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help=f"analysis frames per second (default {DEFAULT_FPS:g})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no per-clip progress lines")
    add_llm_arguments(parser, allow_disable=False)


def _labels(args: argparse.Namespace) -> dict | None:
    from ..compare import load_labels

    if args.no_labels:
        return None
    if args.labels is not None:
        return load_labels(args.labels)
    default = shared_dir() / "videos" / "labels_dev.json"
    if default.is_file():
        labels = load_labels(default)
        if any(Path(v).stem in labels for v in args.videos):
            return labels
    return None


def run(args: argparse.Namespace) -> int:
    from ..compare import compare_videos, format_report, report_to_dict
    from ..llm.cli_options import llm_config_from_args

    missing = [str(v) for v in args.videos if not v.is_file()]
    if missing:
        raise FormcheckError(f"No such file: {', '.join(missing)}.")
    config = llm_config_from_args(args)
    labels = _labels(args)

    def progress(c) -> None:
        if not args.quiet:
            flags = f"rules {sorted(c.rule_flags) or '-'}, LLM {sorted(c.llm_flags) or '-'}"
            print(f"{c.clip}: {c.llm_error if c.llm_error else flags}", file=sys.stderr, flush=True)

    report = compare_videos(args.videos, config, labels=labels,
                            analyze_options={"fps": args.fps or None, "progress": False}, on_clip=progress)  # fmt: skip
    if args.json:
        print(json.dumps(report_to_dict(report), indent=2))
    else:
        print(format_report(report))
    if all(c.llm_error is not None for c in report.clips):
        print("formcheck: the LLM judged no clip (see the reasons above)", file=sys.stderr)
        return 1
    return 0
