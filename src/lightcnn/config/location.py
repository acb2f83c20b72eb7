"""Where the Hydra configs live, and the OmegaConf resolvers they use: ``lightcnn.root`` (the
checkout or the current directory), ``lightcnn.unique`` (a random suffix that keeps run and sweep
directory names apart when two start in the same second), ``lightcnn.run_dir`` (the run a
checkpoint belongs to), ``lightcnn.job_dir`` (a sweep job's folder: its number and swept values)
and ``lightcnn.experiment`` (the MLflow experiment of a run: its sweep's folder, or its task).

``conf/`` sits at the repository root. A wheel ships it as ``lightcnn/conf`` (hatch
force-include), so the package finds it in a non-editable install as well as in a checkout.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from lightcnn.rundir.layout import job_dir_name

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/lightcnn, or site-packages/lightcnn


def find_conf_dir() -> Path:
    """The config folder: inside the installed package, else the checkout's ``conf/``."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"lightcnn's conf/ folder was not found next to {PACKAGE_DIR}")


def project_root() -> Path:
    """The checkout's root when running from one, else the current directory.

    Default data (``<root>/data``) and log (``<root>/logs``) folders hang off it.
    """
    checkout = PACKAGE_DIR.parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "conf").is_dir():
        return checkout
    return Path.cwd()


CONF_DIR = find_conf_dir()


def unique_suffix() -> str:
    """Six random hex digits: two runs started in the same second on any machines of a cluster
    collide with a chance of 1 in 16.7 million, and a guard refuses a folder already used."""
    return secrets.token_hex(3)


if not OmegaConf.has_resolver("lightcnn.root"):
    OmegaConf.register_new_resolver("lightcnn.root", lambda: str(project_root()))
if not OmegaConf.has_resolver("lightcnn.unique"):
    # cached like Hydra's ${now:}: one value per config, copied into each job of a sweep
    OmegaConf.register_new_resolver("lightcnn.unique", unique_suffix, use_cache=True)


def run_dir_of(ckpt_path: str | Path) -> Path:
    """The run directory a checkpoint belongs to: the parent of its ``checkpoints/`` folder,
    else the checkpoint's own folder.

    Args:
        ckpt_path: the checkpoint file (relative paths are taken from the current directory).
    """
    folder = Path(ckpt_path).expanduser().resolve().parent
    return folder.parent if folder.name == "checkpoints" else folder


if not OmegaConf.has_resolver("lightcnn.run_dir"):
    # ${lightcnn.run_dir:${ckpt_path}}: eval's report folder goes under the checkpoint's run
    OmegaConf.register_new_resolver("lightcnn.run_dir", lambda path: str(run_dir_of(path)))


#: the keys a sweep varies, comma-separated: set by the launching process
#: (``launch/hydra_callbacks.py``), inherited by its jobs in any process a launcher starts
SWEPT_KEYS_ENV = "LIGHTCNN_SWEPT_KEYS"


def job_dir(number: int | str, overrides: Iterable[str]) -> str:
    """A sweep job's folder name (``hydra.sweep.subdir``): its number and the values of the
    keys the sweep varies (every override of the job when they are not known).

    Args:
        number: the job's number (an Optuna trial's number, else Hydra's job number).
        overrides: the job's overrides (``hydra.overrides.task``).
    """
    swept = os.environ.get(SWEPT_KEYS_ENV)
    keys = None if swept is None else set(filter(None, swept.split(",")))
    return job_dir_name(number, list(overrides), keys)


def experiment_name(single: str) -> str:
    """The MLflow experiment of this job: its sweep folder's name (every job of a sweep in one
    experiment), else ``single``.

    Args:
        single: the experiment of a single run (``${task_name}``: ``train``).
    """
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return Path(HydraConfig.get().sweep.dir).name
    return str(single)


if not OmegaConf.has_resolver("lightcnn.job_dir"):
    OmegaConf.register_new_resolver("lightcnn.job_dir", job_dir)
if not OmegaConf.has_resolver("lightcnn.experiment"):
    OmegaConf.register_new_resolver("lightcnn.experiment", experiment_name)
