"""``formcheck compare VIDEO...``: threshold rules vs LLM-only flags, scored on the same (clip, rep)
set against labels: sensitivity, specificity, balanced accuracy and F1 with bootstrap CIs, the
never-flag / always-flag baselines, rules in-sample and with leave-one-clip-out thresholds, and
Cohen's kappa between the methods (see :mod:`formcheck_core.compare`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import DEFAULT_FPS, shared_dir
from ..errors import FormcheckError
from ..export import json_safe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..llm.cli_options import add_llm_arguments

    parser.add_argument(
        "videos",
        nargs="+",
        type=Path,
        metavar="VIDEO",
        help="clips to compare: files, folders (searched recursively for video files) or glob patterns",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        help="labels JSON keyed by clip name (default: the shared labels_dev.json, for clips it names)",
    )
    parser.add_argument("--no-labels", action="store_true", help="do not look for labels")
    parser.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"analysis frames per second (default {DEFAULT_FPS:g})"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no per-clip progress lines")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for the CIs (default 1000)",
    )
    add_llm_arguments(parser, allow_disable=True)


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
    from ..batch.discover import find_clips
    from ..compare import TEST_MODEL_NOTE, compare_videos, format_report, report_to_dict
    from ..llm.cli_options import llm_config_from_args
    from ..validate import check_bootstrap, check_fps

    fps, n_boot = check_fps(args.fps), check_bootstrap(args.bootstrap)  # before any clip is read
    sources, notes = find_clips(args.videos)  # folders and globs as `formcheck batch` reads them
    if not sources:
        raise FormcheckError("no clips to compare: " + "; ".join(notes))
    for note in notes:
        print(f"formcheck: {note}", file=sys.stderr)
    args.videos = [Path(s.path) for s in sources]
    missing = [str(v) for v in args.videos if not v.is_file()]
    if missing:
        from ..video import missing_file

        raise missing_file(", ".join(missing))
    config = llm_config_from_args(args)
    labels = _labels(args)

    def progress(c) -> None:
        if args.quiet:
            return
        why = c.excluded_because()
        flags = f"rules {sorted(c.rule_flags) or '-'}" + (
            f", LLM {sorted(c.llm_flags) or '-'}" if c.llm_used else ""
        )
        if c.ungrounded_flags:
            flags += f" (ungrounded LLM flags, not counted: {sorted(c.ungrounded_flags)})"
        note = f"  [{TEST_MODEL_NOTE}]" if c.llm_is_test_model else ""
        print(f"{c.clip}: {f'excluded ({why})' if why else flags}{note}", file=sys.stderr, flush=True)

    report = compare_videos(
        args.videos,
        config,
        labels=labels,
        use_llm=config is not None,
        n_boot=n_boot,
        isolated=True,  # a llama.cpp abort costs only the LLM's rows, never the run
        analyze_options={"fps": fps, "progress": False},
        on_clip=progress,
    )
    if args.json:
        print(json.dumps(json_safe(report_to_dict(report)), indent=2, allow_nan=False))
    else:
        print(format_report(report))
    if not report.scored:
        print(
            "formcheck: no clip could be scored by every method (see the exclusions above)", file=sys.stderr
        )
        return 1
    return 0
