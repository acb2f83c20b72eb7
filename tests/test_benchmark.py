"""The speed benchmark runs end to end (its timings are reported, never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lightcnn

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCHMARKS / "train_speed.py"


def run_benchmark(
    script: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python <script> <args>`` with this checkout's lightcnn importable, plus ``env``."""
    package_root = str(Path(lightcnn.__file__).resolve().parents[1])
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": package_root, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_benchmark_prints_every_variant_and_the_ratios(mnist_root: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"  # the script's temporary run directories (tempfile) go here
    scratch.mkdir()
    result = run_benchmark(
        SCRIPT, "--data-dir", str(mnist_root), "--val-size", "100", "--limit", "128",
        "--batch-size", "64", "--epochs", "2", "--repeats", "1", "--workers", "0",
        cwd=tmp_path, env={"TMPDIR": str(scratch)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # name, s/epoch, vs plain, vs plain_fused, peak MiB, memory ratio (2-step epochs of the
    # plain loop can print 0.00 s, so the times are only parsed; peak memory is always there)
    number = r"\s+([\d.]+|nan|inf)"
    rows = {
        match[1]: [float(value) for value in match.groups()[1:]]
        for match in re.finditer(rf"^(plain|tensor|torchvision|plain_fused){number * 5}$",
                                 result.stdout, re.M)
    }  # fmt: skip
    assert set(rows) == {"plain", "tensor", "torchvision", "plain_fused"}, result.stdout
    assert all(row[3] > 100 for row in rows.values())  # peak MiB of a process running torch
    assert re.search(r"b/a = [\d.]+\s+c/a = [\d.]+", result.stdout)
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"]  # nothing in the working directory
    assert not list(scratch.iterdir())  # the lightcnn runs clean up their run directories


WHOLE_RUN = BENCHMARKS / "whole_run.py"


def half_unit(printed: str) -> float:
    """Half a unit of the last digit of a printed number: its rounding error at most."""
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10.0**-decimals


@pytest.mark.slow
def test_whole_run_benchmark_runs_both_processes_and_prints_the_ratios(
    mnist_root: Path, tmp_path: Path
) -> None:
    """lightcnn's train CLI against the plain script, one interleaved pair of 2-epoch runs."""
    result = run_benchmark(
        WHOLE_RUN, "--data-dir", str(mnist_root), "--val-size", "100", "--epochs", "2",
        "--repeats", "1", "--batch-size", "64", "data.num_workers=0", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # both variants ran to their test, on the same small split
    runs = re.findall(
        r"^repeat 1 (lightcnn|plain)\s+whole .* test/acc ([\d.]+)$", result.stdout, re.M
    )
    assert sorted(name for name, _ in runs) == ["lightcnn", "plain"], result.stdout
    cell = r" \| ([\d.]+)"
    kinds = r"one epoch .*|whole process.*|process start .*|peak memory"
    rows = re.findall(rf"^\| ({kinds}){cell} \w+{cell} \w+{cell} \|$", result.stdout, re.M)
    assert [row[0].split(" (")[0] for row in rows] == [
        "one epoch",
        "whole process",
        "whole process, CPU time",
        "process start to the end of the first epoch",
        "peak memory",
    ]
    for _, lightcnn_value, plain_value, ratio in rows:
        # values are printed to 4 significant digits (1030.4 MiB as "1030"), ratios to 0.01:
        # the ratio lies within what that rounding allows
        a, b, r = float(lightcnn_value), float(plain_value), float(ratio)
        da, db = half_unit(lightcnn_value), half_unit(plain_value)
        assert (a - da) / (b + db) - 0.005 <= r <= (a + da) / max(b - db, 1e-9) + 0.005
    assert not list(tmp_path.iterdir())  # the runs went into a temporary folder, removed


def test_the_plain_script_trains_lightcnns_default_recipe() -> None:
    """benchmarks/plain_train.py stays free of lightcnn, so its defaults are a copy: kept equal
    to the default run's config here."""
    import importlib.util

    from lightcnn.config.compose import compose_run

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "plain_train.py"
    spec = importlib.util.spec_from_file_location("plain_train", path)
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    cfg = compose_run()
    assert (
        cfg.trainer.max_epochs,
        cfg.data.batch_size,
        cfg.data.eval_batch_size,
        cfg.model.lr,
    ) == (plain.EPOCHS, plain.BATCH_SIZE, plain.EVAL_BATCH_SIZE, plain.PEAK_LR)
    assert (cfg.model.optimizer, cfg.model.scheduler, cfg.model.label_smoothing) == (
        "adamw",
        "onecycle",
        0.1,
    )
    assert (cfg.data.random_crop, cfg.data.crop_padding, cfg.model.weight_decay) == (True, 2, 1e-4)


@pytest.mark.slow
def test_startup_benchmark_times_each_step_to_the_first_batch(mnist_root: Path) -> None:
    """benchmarks/startup.py: every step of the start-up, in order, and their sum."""
    result = run_benchmark(
        BENCHMARKS / "startup.py", "--data-dir", str(mnist_root), "--repeats", "1",
        "data.val_size=100",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dict(re.findall(r"^\| (.+?) \| \**([\d.]+)\** \|$", result.stdout, re.M))
    steps = [name for name in rows if not name.startswith(("**", "the plain"))]
    assert steps[1].startswith("import torch") and steps[-1].startswith("trainer.fit")
    assert len(steps) == 9  # the interpreter, three imports, compose, checks, data, trainer, fit
    total = float(rows["**to the first training batch**"])
    assert total == pytest.approx(sum(float(rows[name]) for name in steps), abs=0.06)
