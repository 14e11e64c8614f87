"""The video never leaves the machine: a full analysis succeeds with no network at all, and never
tries to reach it (no name lookup, no connection, no datagram: Python's socket audit events)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import socket, sys
    from formcheck_core.analysis import analyze
    try:  # prove the network really is gone in this process
        socket.create_connection(("pypi.org", 443), timeout=3)
        sys.exit("network reachable: the isolation did not work")
    except OSError:
        pass
    tried = []  # and that the analysis never tries: a refused attempt would pass unseen

    def network_calls(event, args):
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr") or (
            event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple)  # not AF_UNIX
        ):
            tried.append((event, args[1] if event in ("socket.connect", "socket.sendto") else args[0]))

    sys.addaudithook(network_calls)
    a = analyze(sys.argv[1], cache=False, progress=False)
    assert a.ok and a.reps, a.warnings
    assert not tried, tried
    print("reps", len(a.reps))
    """
)


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_analysis_runs_without_network(dev_clip, pose_model):
    if not _can_unshare():
        pytest.skip("needs `unshare -n` (root or user namespaces) to cut the network off")
    clip = dev_clip("posereader_good")
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", SCRIPT, str(clip)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "reps 1" in proc.stdout
