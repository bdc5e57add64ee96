"""Run a configured trainer in a process of its own, killed at its deadline.

A trainer named by ``INFERWATCH_RETRAIN_TRAINER`` is the user's code. One that hangs (a
deadlock, a data loader waiting on a dead worker, a loop that never converges) could
never be stopped in a thread, and the retrain worker would wait for it forever. So
:class:`TrainerProcess` runs it as ``python -m retrain.trainer_process`` in a session of
its own and waits at most until the job's ``deadline``; then it sends SIGTERM to the
whole process group (the trainer and anything it started), and SIGKILL after a grace.
The child watches its parent and kills its group when the worker is gone, so a
``kill -9`` of the worker leaves no trainer running.

The job travels as a pickle in a private folder; what came of it (the trainer's
:class:`~retrain.trainer_contract.TrainedCandidate`, or its exception with the tail of the
traceback) comes back as JSON. Every way it can end without a candidate is a
:class:`~retrain.trainer_contract.TrainingFailed` with the reason.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from retrain.trainer_contract import (
    TrainedCandidate,
    TrainerInput,
    TrainingFailed,
    load_trainer,
    trainer_reference,
)

__all__ = ["TrainerProcess"]


class TrainerProcess:
    """A trainer (``package.module:function``) run in its own process, within its deadline.

    Parameters
    ----------
    ref
        The trainer, ``package.module:function``, importable where the worker runs.
    grace_s
        After the deadline, how long SIGTERM has before SIGKILL.
    """

    def __init__(self, ref: str, *, grace_s: float = 5.0) -> None:
        trainer_reference(ref)
        self.ref = ref
        self.grace_s = grace_s

    def run(self, job: TrainerInput) -> TrainedCandidate | None:
        """Run the trainer on ``job`` in its own process; TrainingFailed if it raises,
        dies, or runs past ``job.deadline`` (then it is killed)."""
        started = time.time()
        with tempfile.TemporaryDirectory(prefix="trainer-") as tmp:
            given, result = Path(tmp) / "job.pkl", Path(tmp) / "result.json"
            given.write_bytes(pickle.dumps(replace(job, progress=None)))
            # the child imports the trainer as this process would: same interpreter, path
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "retrain.trainer_process", self.ref, str(given),
                 str(result), str(os.getpid())], env=env, start_new_session=True)
            try:
                code = proc.wait(max(0.0, job.deadline - time.time()))
            except subprocess.TimeoutExpired:
                _stop_group(proc, self.grace_s)
                raise TrainingFailed(
                    f"the trainer {self.ref} ran past its deadline "
                    f"({job.deadline - started:.0f} s) and was killed") from None
            return _outcome(self.ref, code, result)


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the child's process group, SIGKILL it if still there after ``grace_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace_s)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _outcome(ref: str, code: int, result: Path) -> TrainedCandidate | None:
    """What the child reported, or TrainingFailed with why there is no candidate."""
    report = json.loads(result.read_text()) if result.is_file() else None
    if report is None:
        raise TrainingFailed(f"the trainer {ref} died without a result (exit code {code})")
    if "error" in report:
        raise TrainingFailed(f"the trainer {ref} raised {report['error']}")
    trained = report.get("trained")
    return None if trained is None else TrainedCandidate(**trained)


def _watch_parent(parent: int) -> None:
    """Kill this process group when the worker that started it is gone (reparented)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.killpg(0, signal.SIGKILL)
    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def main(argv: list[str]) -> int:
    """The child: run trainer ``argv[0]`` on the pickled job ``argv[1]``; JSON to ``argv[2]``."""
    ref, given, result, parent = argv
    _watch_parent(int(parent))
    report: dict[str, Any]
    try:
        job = pickle.loads(Path(given).read_bytes())  # written by our parent, for us
        trained = load_trainer(ref)(job)
        report = {"trained": asdict(trained) if isinstance(trained, TrainedCandidate) else None}
    except Exception as exc:  # the user's code: whatever it raises is its failure
        traceback.print_exc()
        report = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    Path(result).write_text(json.dumps(report))
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
