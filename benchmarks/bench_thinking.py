"""``--llm-thinking`` measured: does the model think, how many tokens, and what it costs.

For each model and mode, one chat on the real LLM-only flagging prompt of a dev clip (pose from
the cache), with the flag schema:

- ``off``: thinking off (the template closes the think block empty);
- ``grammar-first``: the prompt opens a think block and the JSON grammar runs from the first
  token — what ``--llm-thinking`` did before the two-phase change (a plain ``create_completion``
  with the grammar, so it can be measured on any model whose vocabulary spells JSON);
- ``two-phase``: :meth:`Engine.chat` with ``think_tokens`` (think without the grammar up to the
  budget, then answer under it).

Reported: thought tokens, answer tokens, whether the answer parses as JSON, seconds. Random-weight
models (the shared ``qwen35-dense.gguf``) think nonsense: only the structure is meaningful.

Run: ``python benchmarks/bench_thinking.py [--model test] [--model ../shared/models/qwen35-dense.gguf]
[--budget 64]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: A short clip with one complete rep (the LLM only judges complete reps).
CLIP = "posereader_good"


def _messages():
    from formcheck_core.analysis import analyze
    from formcheck_core.config import shared_dir
    from formcheck_core.llm.prompts import flag_vocabulary, flagging_messages
    from formcheck_core.llm.schema import flag_schema

    a = analyze(shared_dir() / "videos" / "dev" / f"{CLIP}.mp4", progress=False)
    vocabulary = tuple(flag_vocabulary())
    messages, data = flagging_messages(a, vocabulary, detail=2)
    return messages, flag_schema(vocabulary, [r["rep"] for r in data["reps"]])


def _valid(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def run(model: str, budget: int, max_tokens: int) -> list[dict]:
    from llama_cpp import LlamaGrammar

    from formcheck_core.llm.engine import get_engine, strip_think
    from formcheck_core.models.llm_model import resolve_llm_model

    path = resolve_llm_model(model, download=False)
    messages, schema = _messages()
    rows = []
    for mode in ("off", "grammar-first", "two-phase"):
        engine = get_engine(path, n_ctx=4096, n_threads=1, thinking=mode != "off")
        t0 = time.perf_counter()
        if mode == "grammar-first":
            if not engine.info.can_json:
                rows.append(
                    {
                        "model": engine.info.name,
                        "mode": mode,
                        "note": "vocabulary cannot spell JSON: no grammar",
                    }
                )
                continue
            prompt = engine.template.render(messages)
            if not prompt.rstrip().endswith("<think>"):
                prompt += "<think>\n"
            out = engine.llama.create_completion(
                prompt,
                max_tokens=max_tokens,
                seed=0,
                temperature=0.2,
                grammar=LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False),
                stop=list(engine.template.stops),
            )
            text = out["choices"][0]["text"]
            answer = strip_think(text)
            thought = len(
                engine.llama.tokenize(text[: len(text) - len(text.lstrip())].encode(), add_bos=False)
            )
            rows.append(
                {
                    "model": engine.info.name,
                    "arch": engine.info.architecture,
                    "mode": mode,
                    "thought_tokens": thought,
                    "first_char": text.lstrip()[:1],
                    "answer_tokens": out["usage"]["completion_tokens"],
                    "valid_json": _valid(answer),
                    "s": round(time.perf_counter() - t0, 2),
                }
            )
            continue
        chat = engine.chat(
            messages,
            schema=schema,
            max_tokens=max_tokens,
            seed=0,
            think_tokens=budget if mode == "two-phase" else 0,
        )
        rows.append(
            {
                "model": engine.info.name,
                "arch": engine.info.architecture,
                "mode": mode,
                "can_json": engine.info.can_json,
                "thought_tokens": chat.thought_tokens,
                "answer_tokens": chat.completion_tokens - chat.thought_tokens,
                "finish": chat.finish_reason,
                "valid_json": _valid(chat.text),
                "s": round(chat.total_s, 2),
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", action="append", help="model spec (default: test and the shared qwen35-dense.gguf)"
    )
    p.add_argument("--budget", type=int, default=64, help="think budget in tokens (default 64)")
    p.add_argument("--max-tokens", type=int, default=160, help="answer tokens (default 160)")
    args = p.parse_args()
    from formcheck_core.config import shared_dir

    models = args.model or ["test", str(Path(shared_dir()) / "models" / "qwen35-dense.gguf")]
    for m in models:
        for row in run(m, args.budget, args.max_tokens):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
