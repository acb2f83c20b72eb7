"""A run directory's record of attempts: the original run and each continuation, kept apart.

Attempt 0 is the run itself: Hydra writes its config to ``.hydra/``. Each ``resume=<run dir>``
is a later attempt n: ``rundir/resume.py`` points Hydra's ``output_subdir`` at
``.hydra/resumes/<n>/``, so the original ``.hydra/`` files are never rewritten and every
continuation keeps its own config and overrides. Each attempt's folder also holds
``attempt.json``: when it started and ended, the overrides it added, whether its training
started, and its outcome (``running``, ``completed``, ``interrupted``, ``failed`` with the
error, ``killed``: see :data:`~lightcnn.rundir.layout.OUTCOMES`). An attempt that died without
recording its end (SIGKILL, out of memory, power loss) is still ``running``: the next
``resume=`` records it as ``killed``, with the epochs its checkpoints prove it trained, before
its own attempt starts. A later ``resume=`` replays the original overrides plus those added by
attempts that trained (completed, interrupted or killed) — never those of a failed attempt.
No Lightning here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from lightcnn.core.io import write_json
from lightcnn.rundir.layout import (
    ATTEMPT,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    KILLED,
    LAST,
    METRICS,
    RECORD,
    RESUMES,
    RUNNING,
)

# attempts whose added overrides a later resume= applies again (one still "running" when a
# resume= is expanded ended without a record: it is recorded as killed once the resume starts)
REPLAYED = (COMPLETED, INTERRUPTED, KILLED, RUNNING)
# overrides that name where a run starts from, not how it trains: never replayed
NOT_REPLAYED = ("resume=", "hydra.run.dir=", "ckpt_path=", "init_from=")


def record_dir(attempt: int) -> Path:
    """The folder (relative to the run directory) holding an attempt's record."""
    return RECORD if attempt == 0 else RESUMES / str(attempt)


def attempt_of(output_subdir: str | None) -> int:
    """The attempt number of a job from Hydra's ``output_subdir``."""
    parts = Path(output_subdir or RECORD).parts
    return int(parts[-1]) if len(parts) == 3 and parts[1] == RESUMES.name else 0


def next_attempt(run_dir: Path) -> int:
    """The number the next continuation of ``run_dir`` gets."""
    done = [int(p.name) for p in (run_dir / RESUMES).glob("*") if p.name.isdigit()]
    return max(done, default=0) + 1


def attempt_files(run_dir: Path) -> list[Path]:
    """Every attempt's ``attempt.json``, in order (attempts without one are left out)."""
    folders = [run_dir / RECORD]
    numbered = (p for p in (run_dir / RESUMES).glob("*") if p.name.isdigit())
    folders += sorted(numbered, key=lambda p: int(p.name))
    return [f / ATTEMPT for f in folders if (f / ATTEMPT).is_file()]


def read_attempts(run_dir: Path) -> list[dict[str, Any]]:
    """Every attempt's record, in order (attempts without one are left out)."""
    return [json.loads(path.read_text()) for path in attempt_files(run_dir)]


def training_started(run_dir: Path, attempt: int = 0) -> bool:
    """Whether an attempt's training started (its ``attempt.json`` says so)."""
    path = run_dir / record_dir(attempt) / ATTEMPT
    return path.is_file() and bool(json.loads(path.read_text()).get("training_started"))


def record_killed_attempts(run_dir: Path, by_attempt: int) -> list[dict[str, Any]]:
    """Record each attempt still ``running`` as ``killed``: it ended without recording its end.

    Call it holding the run directory's lock (``rundir/lock.py``): then no other process runs an
    attempt of this run. Its epochs are those its checkpoints prove: the epochs ``last.ckpt``
    holds beyond those the other attempts recorded (an epoch whose checkpoint was not written
    is not proven, and will be trained again).

    Args:
        run_dir: the run directory.
        by_attempt: the number of the attempt that found them.

    Returns:
        The updated records.
    """
    paths = attempt_files(run_dir)
    records = [json.loads(path.read_text()) for path in paths]
    found = [(p, r) for p, r in zip(paths, records, strict=True) if r["outcome"] == RUNNING]
    if not found:
        return []
    recorded = max((e for r in records for e in r.get("epochs") or []), default=0)
    proven = _epochs_in(run_dir / LAST)
    for path, record in found:
        record |= {
            "outcome": KILLED,
            "ended": None,  # unknown: it had no chance to say
            "epochs": list(range(recorded + 1, proven + 1)),
            "recorded_by_attempt": by_attempt,
        }
        recorded = max(recorded, proven)
        write_json(path, record)
    return [record for _, record in found]


def _epochs_in(last: Path) -> int:
    """How many epochs a ``last.ckpt`` holds (0 without one)."""
    if not last.is_file():
        return 0
    from lightcnn.rundir.checkpoints import load_weights_only  # torch, only when needed

    return int(load_weights_only(last, mmap=True).get("epoch", -1)) + 1


def _overrides(folder: Path) -> list[str]:
    path = folder / "overrides.yaml"
    return list(yaml.safe_load(path.read_text()) or []) if path.is_file() else []


def replayed_overrides(run_dir: Path) -> list[str]:
    """The original overrides plus those added by earlier attempts that trained."""
    replay = _overrides(run_dir / RECORD)
    for attempt in read_attempts(run_dir):
        if attempt["attempt"] > 0 and attempt["outcome"] in REPLAYED:
            replay += attempt["added_overrides"]
    return [arg for arg in replay if not arg.startswith(NOT_REPLAYED)]


class Attempt:
    """This process's attempt at a run: ``attempt.json`` written at the start and at the end.

    Args:
        run_dir: the run directory.
        output_subdir: Hydra's ``output_subdir`` of this job (``.hydra`` or
            ``.hydra/resumes/<n>``).
        overrides: this job's task overrides (Hydra's ``overrides.task``).
        continued_from: the checkpoint it continues (``ckpt_path``, resume's ``last.ckpt``).
        init_from: the checkpoint whose weights it starts from.
        writes: whether this process writes the record (rank 0: one record, also under DDP).
    """

    def __init__(
        self,
        run_dir: Path,
        output_subdir: str | None,
        overrides: list[str],
        continued_from: str | None = None,
        init_from: str | None = None,
        writes: bool = True,
    ) -> None:
        self.number = attempt_of(output_subdir)
        self.run_dir = run_dir
        self.path = run_dir / record_dir(self.number) / ATTEMPT
        self.writes = writes
        replayed = replayed_overrides(run_dir) if self.number else []
        added = overrides[len(replayed) :] if overrides[: len(replayed)] == replayed else overrides
        self.record: dict[str, Any] = {
            "attempt": self.number,
            "started": _now(),
            "added_overrides": [arg for arg in added if not arg.startswith("resume=")],
            "continued_from": continued_from,
            "init_from": init_from,
            "training_started": False,
            "outcome": RUNNING,
        }
        if self.writes:
            write_json(self.path, self.record)

    def training_starts(self) -> None:
        """Record that training started: a failure from now on keeps the run directory."""
        self.record["training_started"] = True
        if self.writes:
            write_json(self.path, self.record)

    def finish(
        self, outcome: str, epochs: list[int] | None = None, error: str | None = None
    ) -> None:
        """Record how the attempt ended.

        Args:
            outcome: ``completed``, ``interrupted`` or ``failed``.
            epochs: the epochs this attempt trained.
            error: what went wrong (failed attempts).
        """
        self.record |= {"outcome": outcome, "ended": _now(), "epochs": epochs or []}
        # under ddp_spawn training starts in the spawned processes: their rank 0 recorded it
        started = self.record["training_started"] or training_started(self.run_dir, self.number)
        self.record["training_started"] = started
        if error:
            self.record["error"] = error
        if self.writes:
            write_json(self.path, self.record)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def write_failure_record(
    run_dir: Path, error: BaseException, seed: Any, wall_time_s: float
) -> None:
    """Write a failed run's ``metrics.json``: status, error, and how far it got.

    Sweeps read every job's result from disk (the leaderboard, launchers that run jobs in other
    processes), so a failed job leaves its record like a completed one.

    Args:
        run_dir: the run directory.
        error: what stopped the run.
        seed: the run's seed.
        wall_time_s: seconds from the start of the process to the failure.
    """
    last = run_dir / LAST
    write_json(
        run_dir / METRICS,
        {
            "status": FAILED,
            "error": " ".join(str(error).split()) or type(error).__name__,
            "error_type": type(error).__name__,
            "seed": seed,
            "run_dir": str(run_dir),
            "last_checkpoint": str(last) if last.is_file() else None,
            "attempts": read_attempts(run_dir),
            "wall_time_s": round(wall_time_s, 2),
        },
    )
