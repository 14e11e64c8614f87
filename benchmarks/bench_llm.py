"""LLM coaching cost: formcheck's layer vs a plain ``llama_cpp.Llama`` call, same model, same run.

For each model, fresh child processes run (interleaved over ``--repeats`` rounds, medians reported):

- ``plain``: ``Llama(...)`` + ``create_chat_completion(stream=True, response_format=json_object+schema)``
  with exactly the messages and schema formcheck builds, for two clips in a row;
- ``formcheck``: :func:`formcheck_core.llm.llm_cues` for the same two clips (engine load, chat
  handler, prefix cache, streaming item parser, grounding check, fallback).

Reported per call: load time, prompt tokens and prompt tokens actually evaluated (the rest came
from the cache), prompt and generation tokens/s (llama.cpp's own counters), time to first token,
time to first checked cue (formcheck only), total; per process: peak RSS (``VmHWM``). The
analyses (pose from the cache, rules) are computed before timing starts.

Run: ``python benchmarks/bench_llm.py [--model test --model PATH.gguf] [--json out.json]``.
Models default to the test model (``formcheck models install --llm-test``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: Clips with complete reps (the LLM only coaches those; posereader_arm_bend, used for the figures in
#: docs/llm.md, is a partial pull since the lockout needs an upright torso).
CLIPS = ("posereader_good", "reel_bad_07")
MODES = ("plain", "formcheck")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _analyses(clips: list[str]):
    from formcheck_core.analysis import analyze
    from formcheck_core.config import shared_dir

    return [analyze(shared_dir() / "videos" / "dev" / f"{c}.mp4", progress=False) for c in clips]


def child_plain(model: str, clips: list[str], threads: int, n_ctx: int, max_tokens: int) -> dict:
    from formcheck_core.llm.coaching import _context
    from formcheck_core.llm.settings import LLMConfig
    from formcheck_core.models.llm_model import resolve_llm_model

    analyses = _analyses(clips)
    cfg = LLMConfig(model=model, n_threads=threads, n_ctx=n_ctx, max_tokens=max_tokens)
    path = resolve_llm_model(model, download=False)
    import llama_cpp

    chat_format = None if "tokenizer.chat_template" in _meta(path) else "chatml"
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=cfg.n_batch,
        seed=cfg.seed,
        verbose=False,
        chat_format=chat_format,
    )
    load_s = time.perf_counter() - t0
    eos_ok = llm.token_eos() != -1
    calls = []
    for analysis in analyses:
        messages, _data, schema = _context(analysis, cfg)
        llama_cpp.llama_perf_context_reset(llm.ctx)
        t0 = time.perf_counter()
        first = None
        text = []
        stream = llm.create_chat_completion(
            messages=messages,
            stream=True,
            max_tokens=max_tokens,
            temperature=cfg.temperature,
            seed=cfg.seed,
            response_format={"type": "json_object", "schema": schema} if eos_ok else None,
        )
        for chunk in stream:
            piece = chunk["choices"][0]["delta"].get("content") or ""
            if piece and first is None:
                first = time.perf_counter() - t0
            text.append(piece)
        total = time.perf_counter() - t0
        perf = llama_cpp.llama_perf_context(llm.ctx)
        calls.append(
            _call(
                perf,
                len(llm.tokenize("".join(text).encode(), add_bos=False)) if text else 0,
                first,
                total,
                None,
                prompt_tokens=None,
            )
        )
    return {"load_s": load_s, "calls": calls, "peak_rss_mb": _peak_rss_mb(), "rss_before_load_mb": rss_before}


def _meta(path: Path) -> dict:
    """GGUF metadata keys (cheap: llama_cpp reads them when loading; here just the template flag)."""
    import llama_cpp

    probe = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False, vocab_only=True)
    meta = dict(probe.metadata)
    probe.close()
    return meta


def _call(perf, completion_tokens, first, total, first_cue, prompt_tokens) -> dict:
    p_s, g_s = perf.t_p_eval_ms / 1000, perf.t_eval_ms / 1000
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_tokens_evaluated": int(perf.n_p_eval),
        "completion_tokens": int(perf.n_eval),
        "prompt_tok_s": perf.n_p_eval / p_s if p_s > 0 else None,
        "gen_tok_s": perf.n_eval / g_s if g_s > 0 else None,
        "ttft_s": first,
        "first_cue_s": first_cue,
        "first_item_s": None,
        "total_s": total,
    }


def child_formcheck(model: str, clips: list[str], threads: int, n_ctx: int, max_tokens: int) -> dict:
    from formcheck_core.llm import LLMConfig, get_engine, llm_cues
    from formcheck_core.models.llm_model import resolve_llm_model

    analyses = _analyses(clips)
    cfg = LLMConfig(model=model, n_threads=threads, n_ctx=n_ctx, max_tokens=max_tokens)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    engine = get_engine(
        resolve_llm_model(model, download=False),
        n_ctx=n_ctx,
        n_threads=threads,
        n_batch=cfg.n_batch,
        seed=cfg.seed,
    )
    load_s = time.perf_counter() - t0
    calls, outcomes = [], []
    for analysis in analyses:
        t0 = time.perf_counter()
        result = llm_cues(analysis, cfg, engine=engine, on_cue=lambda _c: None)
        total = time.perf_counter() - t0
        c = result.chat
        calls.append(
            {
                "prompt_tokens": c.prompt_tokens,
                "prompt_tokens_evaluated": c.prompt_tokens_evaluated,
                "completion_tokens": c.completion_tokens,
                "prompt_tok_s": c.prompt_tokens_per_s,
                "gen_tok_s": c.generation_tokens_per_s,
                "ttft_s": c.time_to_first_token_s,
                "first_cue_s": result.time_to_first_cue_s,
                "first_item_s": result.time_to_first_item_s,
                "total_s": total,
            }
        )
        outcomes.append(
            {
                "source": result.source,
                "cues": len(result.cues),
                "rejected": len(result.rejected),
                "fallback_reason": result.fallback_reason,
            }
        )
    return {
        "load_s": load_s,
        "calls": calls,
        "outcomes": outcomes,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_load_mb": rss_before,
        "model": engine.info.name,
        "n_params": engine.info.n_params,
        "size_mb": engine.info.size_bytes / 1e6,
        "hybrid": engine._hybrid,
    }


def run_child(mode: str, model: str, args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--model",
        model,
        "--threads",
        str(args.threads),
        "--ctx",
        str(args.ctx),
        "--max-tokens",
        str(args.max_tokens),
        "--clips",
        *args.clips,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed for {model}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(rows: list[dict], key: str, call: int | None = None):
    vals = [(r["calls"][call] if call is not None else r)[key] for r in rows]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def _fmt(v, digits=2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="model spec (repeatable; default: test)")
    ap.add_argument("--clips", nargs="+", default=list(CLIPS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--json", type=Path, help="write all measurements here")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_plain if args.child == "plain" else child_formcheck
        print(json.dumps(fn(args.model[0], args.clips, args.threads, args.ctx, args.max_tokens)))
        return

    models = args.model or ["test"]
    results: dict[str, dict[str, list[dict]]] = {}
    for model in models:
        results[model] = {m: [] for m in MODES}
        for _ in range(args.repeats):
            for mode in MODES:
                results[model][mode].append(run_child(mode, model, args))
    import os

    print(
        f"threads={args.threads} ctx={args.ctx} max_tokens={args.max_tokens} clips={args.clips} "
        f"repeats={args.repeats} cpus={os.cpu_count()} load1={os.getloadavg()[0]:.1f}"
    )
    head = (
        "| model | layer | load s | call | prompt tok (evaluated) | prompt tok/s | gen tok | gen tok/s "
        "| first token s | first cue object s | first checked cue s | total s | peak RSS MB |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for by_mode in results.values():
        info = by_mode["formcheck"][0]
        name = f"{info['model']} ({info['size_mb']:.0f} MB)"
        for mode, rows in by_mode.items():
            for call in range(len(args.clips)):
                pt = _median(rows, "prompt_tokens", call)
                print(
                    f"| {name} | {mode} | {_fmt(_median(rows, 'load_s'))} | {call + 1} | "
                    f"{'-' if pt is None else int(pt)} ({int(_median(rows, 'prompt_tokens_evaluated', call))}) | "
                    f"{_fmt(_median(rows, 'prompt_tok_s', call), 0)} | {int(_median(rows, 'completion_tokens', call))} | "
                    f"{_fmt(_median(rows, 'gen_tok_s', call), 1)} | {_fmt(_median(rows, 'ttft_s', call))} | "
                    f"{_fmt(_median(rows, 'first_item_s', call))} | {_fmt(_median(rows, 'first_cue_s', call))} | "
                    f"{_fmt(_median(rows, 'total_s', call))} | "
                    f"{_fmt(_median(rows, 'peak_rss_mb'), 0)} |"
                )
        outs = [o for r in by_mode["formcheck"] for o in r["outcomes"]]
        print(
            f"\n{name}: formcheck outcomes: "
            + "; ".join(
                f"{o['source']} {o['cues']} cues, {o['rejected']} rejected"
                + (f" ({o['fallback_reason']})" if o["fallback_reason"] else "")
                for o in outs[: len(args.clips)]
            )
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=1)
        )


if __name__ == "__main__":
    main()
