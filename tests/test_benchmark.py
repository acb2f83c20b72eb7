"""The speed benchmark runs end to end (its timings are reported, never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lightcnn

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"


@pytest.mark.slow
def test_benchmark_prints_every_variant_and_the_ratios(mnist_root: Path, tmp_path: Path) -> None:
    package_root = str(Path(lightcnn.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", str(mnist_root), "--val-size", "100",
         "--limit", "128", "--batch-size", "64", "--epochs", "2", "--repeats", "1",
         "--workers", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": package_root},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {
        match[1]: float(match[2])
        for match in re.finditer(
            r"^(plain|tensor|torchvision|plain_fused)\s+([\d.]+)", result.stdout, re.M
        )
    }
    assert set(rows) == {"plain", "tensor", "torchvision", "plain_fused"}
    assert all(seconds > 0 for seconds in rows.values())
    assert re.search(r"b/a = [\d.]+\s+c/a = [\d.]+", result.stdout)
    assert not list(tmp_path.iterdir())  # the lightcnn runs clean up their run directories
