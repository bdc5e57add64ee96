"""The progress bar of long commands: drawn on a terminal (a pty), silent when piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def _train(tmp_path: Path, *, terminal: bool) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "INFERWATCH_INFERENCE_MODEL_DIR": str(tmp_path / "models")}
    cmd = [sys.executable, "-m", "streams.cli", "train", "--rows", "1000", "--model", "m"]
    if not terminal:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout + done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=follower, stderr=follower, stdin=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=300), b"".join(chunks).decode(errors="replace")


def test_train_draws_a_bar_with_rate_and_eta_on_a_terminal(tmp_path: Path) -> None:
    rc, out = _train(tmp_path, terminal=True)
    assert rc == 0, out
    assert "train m [####################] 8/8 100%" in out
    assert " epochs/s  ETA " in out and "\r" in out
    assert "published m v1" in out


def test_train_prints_only_its_result_when_piped(tmp_path: Path) -> None:
    rc, out = _train(tmp_path, terminal=False)
    assert rc == 0, out
    assert "ETA" not in out and "\r" not in out and "[#" not in out
    assert out.startswith("published m v1")
