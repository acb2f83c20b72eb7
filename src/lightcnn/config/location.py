"""Where the Hydra configs live, and the OmegaConf resolvers they use: ``lightcnn.root`` (the
checkout or the current directory), ``lightcnn.unique`` (a random suffix that keeps run and sweep
directory names apart when two start in the same second) and ``lightcnn.run_dir`` (the run a
checkpoint belongs to).

``conf/`` sits at the repository root. A wheel ships it as ``lightcnn/conf`` (hatch
force-include), so the package finds it in a non-editable install as well as in a checkout.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from omegaconf import OmegaConf

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
