"""Evaluation from a checkpoint alone: the report folder, its numbers against the training run's
own, the validation split, data overrides, and the CLI with its errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

from conftest import best_checkpoint, compose_job, run_cli
from lightcnn.core.errors import DataError
from lightcnn.eval import evaluate

REPORT_FILES = {
    "metrics.json",
    "report.md",
    "confusion_matrix.png",
    "per_class_accuracy.png",
    "misclassified.png",
    "calibration.png",
    "curves.png",
}


def run_eval(output_dir: Path, *overrides: str) -> dict:
    try:
        return evaluate(compose_job("eval", list(overrides), output_dir))
    finally:
        GlobalHydra.instance().clear()


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "eval" not in p.relative_to(folder).parts
    }


def check_consistent(report: dict) -> None:
    """Accuracy is the matrix's trace over its total; each class's recall is its row's."""
    matrix = report["confusion_matrix"]
    total = sum(map(sum, matrix))
    assert total == report["count"]
    assert report["accuracy"] == sum(matrix[i][i] for i in range(len(matrix))) / total
    for i, name in enumerate(report["classes"]):
        row = matrix[i]
        recall = row[i] / sum(row) if sum(row) else 0.0
        assert report["per_class"][name]["recall"] == pytest.approx(recall, abs=1e-6)
        assert report["per_class"][name]["support"] == sum(row)


def test_a_training_run_writes_the_report_of_its_own_test(trained_run: Path) -> None:
    report_dir = trained_run / "report"
    assert {p.name for p in report_dir.iterdir()} == REPORT_FILES
    report = json.loads((report_dir / "metrics.json").read_text())
    run = json.loads((trained_run / "metrics.json").read_text())
    check_consistent(report)
    assert report["accuracy"] == pytest.approx(run["test/acc"], abs=1e-6)
    assert report["loss"] == pytest.approx(run["test/loss"], rel=1e-4)
    assert report["ckpt_path"] == run["ckpt_path"] and report["split"] == "test"
    assert 0 < report["correct"] < report["count"] == 200  # imperfect: mistakes to show
    markdown = (report_dir / "report.md").read_text()
    assert f"{100 * report['accuracy']:.2f}% ({report['correct']} / 200)" in markdown
    assert (
        "## Top confusions" in markdown and "![confusion_matrix](confusion_matrix.png)" in markdown
    )


def test_eval_needs_only_the_checkpoint_and_matches_the_run(
    trained_run: Path, tmp_path: Path
) -> None:
    before = digest(trained_run)
    ckpt = best_checkpoint(trained_run)
    report = run_eval(tmp_path / "eval", f"ckpt_path={ckpt}")
    run = json.loads((trained_run / "metrics.json").read_text())
    own = json.loads((trained_run / "report" / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(run["test/acc"], abs=1e-6)
    assert (
        report["correct"] == own["correct"]
        and report["confusion_matrix"] == own["confusion_matrix"]
    )
    assert report["epoch"] is not None and report["data_dir"] == run_data_dir(ckpt)
    assert {p.name for p in (tmp_path / "eval").iterdir()} == REPORT_FILES
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text()) == report
    check_consistent(report)
    assert digest(trained_run) == before  # the run's own record is untouched


def run_data_dir(ckpt: Path) -> str:
    import torch

    return torch.load(ckpt, weights_only=True)["datamodule_hyper_parameters"]["data_dir"]


def test_eval_on_the_validation_split_matches_the_runs_val_acc(
    trained_run: Path, tmp_path: Path
) -> None:
    report = run_eval(tmp_path / "val", f"ckpt_path={best_checkpoint(trained_run)}", "split=val")
    run = json.loads((trained_run / "metrics.json").read_text())
    assert report["split"] == "val" and report["count"] == 100
    assert report["accuracy"] == pytest.approx(run["val/acc"], abs=1e-6)


def test_data_options_override_the_checkpoints(
    trained_run: Path, tmp_path: Path, mnist_root: Path
) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(mnist_root, moved)
    ckpt = best_checkpoint(trained_run)
    report = run_eval(
        tmp_path / "a", f"ckpt_path={ckpt}", f"data.data_dir={moved}", "data.batch_size=7"
    )
    assert report["data_dir"] == str(moved)
    assert (
        report["correct"]
        == json.loads((trained_run / "report" / "metrics.json").read_text())["correct"]
    )
    # a whole dataset config may replace the checkpoint's data options
    report = run_eval(tmp_path / "b", f"ckpt_path={ckpt}", "data=mnist", f"paths.data_dir={moved}")
    assert report["dataset"] == "mnist" and report["data_dir"] == str(moved)
    with pytest.raises(DataError, match="MNIST not found"):
        run_eval(
            tmp_path / "c",
            f"ckpt_path={ckpt}",
            f"data.data_dir={tmp_path / 'none'}",
            "data.download=false",
        )


@pytest.mark.slow
def test_eval_cli_writes_a_new_folder_under_the_checkpoints_run(trained_run: Path, tmp_path: Path):
    # a copy of the run: its eval/ folder is this test's alone (the fixture's run is shared)
    run_dir = shutil.copytree(trained_run, tmp_path / "run")
    ckpt = best_checkpoint(run_dir)
    result = run_cli(f"ckpt_path={ckpt}", cwd=tmp_path, module="lightcnn.eval")
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (run_dir / "eval").iterdir()
    assert folder.name.endswith("_test")
    assert {p.name for p in folder.iterdir()} >= REPORT_FILES
    assert (folder / "eval.log").is_file() and (folder / ".hydra" / "config.yaml").is_file()
    report = json.loads((folder / "metrics.json").read_text())
    output = result.stdout
    assert f"test: accuracy {100 * report['accuracy']:.2f}%" in output
    assert f"Report: {folder}" in output
    lines = [line.split("] ", 1)[-1] for line in output.splitlines() if line.startswith("[")]
    assert len(lines) == len(set(lines)), "a message was printed twice"
    assert not (trained_run / "eval").exists()  # the original run is untouched


def test_a_result_folder_is_never_reused_and_must_be_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightcnn.core.errors import ConfigError
    from lightcnn.rundir import guards

    done = tmp_path / "done"
    done.mkdir()
    (done / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds results of lightcnn.eval"):
        guards.check_result_folder(done, "eval")
    guards.check_result_folder(tmp_path / "new" / "folder", "eval")  # creatable
    monkeypatch.setattr(guards.os, "access", lambda path, mode: path != tmp_path)
    with pytest.raises(ConfigError, match=f"{tmp_path} is not writable"):
        guards.check_result_folder(tmp_path / "new" / "folder", "eval")
