"""``resume=<run dir>``: continue a run in its own directory with its own config.

Before Hydra composes, the run's overrides are put back on the command line — the original
run's, plus those added by earlier continuations that trained (``rundir/record.py``) — so
the resumed run has the config its checkpoints were trained with; overrides given after
``resume=`` (e.g. ``trainer.max_epochs=20``) apply on top. The continuation's own config is
written to ``.hydra/resumes/<n>/``: the run's original ``.hydra/`` is never rewritten.
"""

from __future__ import annotations

from pathlib import Path

from lightcnn.core.errors import ConfigError
from lightcnn.rundir.layout import LAST, RECORD
from lightcnn.rundir.lock import check_not_held
from lightcnn.rundir.record import next_attempt, record_dir, replayed_overrides

#: what a resume refused by the run's lock can do (``rundir/lock.py``)
RESUME_LATER = "resume it once that process has ended"


def expand_resume(argv: list[str]) -> list[str]:
    """Return ``argv`` with a ``resume=<dir>`` argument expanded into the run's overrides.

    Args:
        argv: the command line (``sys.argv``).
    """
    args = argv[1:]
    resume = [arg for arg in args if arg.startswith("resume=")]
    if not resume:
        return argv
    value = resume[-1].split("=", 1)[1]
    if value in ("", "null"):
        return argv
    run_dir = Path(value).expanduser().resolve()
    check_not_held(run_dir, RESUME_LATER)  # a run still going (maybe before its .hydra/)
    saved = run_dir / RECORD / "overrides.yaml"
    if not saved.is_file():
        raise ConfigError(
            f"resume={value}: {run_dir} is not a lightcnn run directory (no {saved.name})"
        )
    if not (run_dir / LAST).is_file():
        raise ConfigError(
            f"resume={value}: {run_dir / LAST} does not exist: the run ended before its first "
            f"epoch finished, so there is nothing to resume; start it again"
        )
    rest = [arg for arg in args if not arg.startswith("resume=")]
    return [
        argv[0],
        *replayed_overrides(run_dir),
        *rest,
        f"resume={run_dir}",
        f"hydra.run.dir={run_dir}",
        f"hydra.output_subdir={record_dir(next_attempt(run_dir))}",
    ]
