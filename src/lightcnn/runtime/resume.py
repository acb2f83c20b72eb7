"""``resume=<run dir>``: continue a run in its own directory with its own config.

The run's saved overrides (``.hydra/overrides.yaml``) are put back on the command line before
Hydra composes, so the resumed run has exactly the original config; overrides given after
``resume=`` (e.g. ``trainer.max_epochs=20``) still apply on top.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from lightcnn.errors import ConfigError
from lightcnn.runtime.run_dir import LAST


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
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise ConfigError(
            f"resume={value}: {run_dir} is not a lightcnn run directory (no {saved.name})"
        )
    if not (run_dir / LAST).is_file():
        raise ConfigError(
            f"resume={value}: {run_dir / LAST} does not exist: the run ended before its first "
            f"epoch finished, so there is nothing to resume; start it again"
        )
    original = [
        arg
        for arg in yaml.safe_load(saved.read_text()) or []
        if not arg.startswith(("resume=", "hydra.run.dir=", "ckpt_path="))
    ]
    rest = [arg for arg in args if not arg.startswith("resume=")]
    return [argv[0], *original, *rest, f"resume={run_dir}", f"hydra.run.dir={run_dir}"]
