"""The config is found in an editable install and after a non-editable ``pip install .``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from lightcnn.config import location as config

REPO = Path(__file__).resolve().parents[1]


def test_editable_install_reads_the_checkouts_conf() -> None:
    assert config.CONF_DIR == REPO / "conf"
    assert config.project_root() == REPO


@pytest.mark.slow
def test_non_editable_wheel_runs_from_another_directory(tmp_path: Path, mnist_root: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("lightcnn-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    assert (site / "lightcnn" / "conf" / "train.yaml").is_file()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import lightcnn.config as c; print(c.CONF_DIR); print(c.project_root())",
        ],
        cwd=work,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [str(site / "lightcnn" / "conf"), str(work)]
    result = run_cli(
        "debug=fdr", f"paths.data_dir={mnist_root}", "data.val_size=100", cwd=work, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (work / "logs" / "train" / "runs").iterdir()
    assert (run_dir / "metrics.json").is_file()
