"""An image folder of one's own (``data=folder``): facts found in its files and recorded, both
pipelines, the cache, a run without test/ reporting validation only, eval and predict from the
checkpoint alone with the class names, and every bad folder as one error, nothing written."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from conftest import best_checkpoint, compose_job, run_cli
from fakedata import write_image_folder
from lightcnn.core.errors import ConfigError, DataError
from lightcnn.data import FolderSource, open_source
from lightcnn.data.module import ImageDataModule
from lightcnn.data.split import split_indices
from lightcnn.eval import evaluate
from lightcnn.predict import predict
from lightcnn.train import train


def folder_module(root: Path, **options) -> ImageDataModule:
    return ImageDataModule("folder", root=str(root), batch_size=8, val_size=6, seed=3, **options)


def test_facts_come_from_the_files(image_folder: Path) -> None:
    source = open_source({"dataset": "folder", "root": str(image_folder), "val_size": 6})
    assert source.classes == ("circle", "square", "triangle")  # the folder names, sorted
    assert (source.image_size, source.channels) == (16, 1)
    assert source.has_test and not source.has_val
    # mean/std of the training split only: train/ less the 6 held-out images
    files = sorted((image_folder / "train").rglob("*.png"))
    assert len(files) == 60
    pixels = np.stack([np.asarray(Image.open(f), dtype=np.float64) / 255 for f in files])
    train_rows, _ = split_indices(60, 6, seed=0)
    listed = source.scan().listing.files["train"]
    order = [files.index(path) for path in listed]
    chosen = pixels[[order[i] for i in train_rows]]
    assert source.mean[0] == pytest.approx(chosen.mean(), abs=1e-6)
    assert source.std[0] == pytest.approx(chosen.std(), abs=1e-6)
    facts = source.facts()
    assert facts["classes"] == ["circle", "square", "triangle"] and facts["mean"] == [
        round(source.mean[0], 6)
    ]


def test_colour_is_found_or_set(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "mixed", counts={"train": 4})
    Image.new("RGB", (16, 16), (200, 10, 10)).save(root / "train" / "circle" / "red.png")
    assert open_source({"dataset": "folder", "root": str(root)}).channels == 3
    grey = open_source({"dataset": "folder", "root": str(root), "channels": 1})
    assert grey.channels == 1 and len(grey.mean) == 1


def test_both_pipelines_deliver_the_same_images(image_folder: Path) -> None:
    tensor = folder_module(image_folder, pipeline="tensor")
    classic = folder_module(image_folder, pipeline="torchvision", num_workers=0)
    tensor.setup("fit")
    classic.setup("fit")
    batch = next(iter(tensor.val_dataloader()))
    tensor.trainer = SimpleNamespace(training=False)
    images, labels = tensor.on_after_batch_transfer(batch, 0)
    expected = torch.stack([classic.val_set[i][0] for i in range(len(labels))])
    assert torch.allclose(images, expected, atol=1e-5)
    assert labels.tolist() == [classic.val_set[i][1] for i in range(len(labels))]


def test_auto_picks_by_the_decoded_size(image_folder: Path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO, logger="lightcnn")
    assert folder_module(image_folder, pipeline="auto").pipeline == "tensor"
    assert "data.pipeline=auto: tensor, held in memory" in caplog.text
    monkeypatch.setattr("lightcnn.data.pipelines.TENSOR_LIMIT_BYTES", 100)
    large = folder_module(image_folder, pipeline="auto")
    assert large.pipeline == "torchvision"
    large.setup("test")
    assert len(large.test_set) == 15 and large.test_set[0][0].shape == (1, 16, 16)


def test_the_cache_is_keyed_by_the_files(tmp_path: Path, caplog, monkeypatch) -> None:
    caplog.set_level(logging.INFO, logger="lightcnn")
    root = write_image_folder(tmp_path / "shapes", counts={"train": 6})
    cache = tmp_path / "cache"
    options = {"dataset": "folder", "root": str(root), "cache_dir": str(cache), "val_size": 2}
    first = open_source(options).scan()
    assert first.cached[2] and first.cached[0].is_file()  # decoded now, written
    open_source(options).report()
    assert "decoded pixels cached in" in caplog.text
    monkeypatch.setattr("lightcnn.data.sources.folder._SCANNED", {})  # a new process
    again = FolderSource.from_options(options).scan()
    assert not again.cached[2]  # read from the cache
    # a changed file (its modification time) is read again, in a folder of its own
    changed = root / "train" / "circle" / "000.png"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    fresh = FolderSource.from_options(options).scan()
    assert fresh.cached[2] and fresh.cached[0].parent != first.cached[0].parent


# ----------------------------------------------------------------- bad folders


def bad_folder(tmp_path: Path, case: str) -> Path:
    root = tmp_path / case
    if case == "missing":
        return root
    write_image_folder(root, counts={"train": 3, "val": 2})
    train = root / "train"
    if case == "no_train":
        shutil.move(train, root / "images")
    elif case == "empty_class":
        (train / "hexagon").mkdir()
    elif case == "no_image":
        for path in train.rglob("*.png"):
            path.rename(path.with_suffix(".txt"))
    elif case == "unreadable":
        (train / "square" / "notes.png").write_text("not an image\n")
    elif case == "truncated":
        whole = (train / "square" / "000.png").read_bytes()
        (train / "square" / "cut.png").write_bytes(whole[: len(whole) // 2])
    elif case == "hidden_class":
        (train / ".ipynb_checkpoints").mkdir()
    elif case == "unknown_val_class":
        (root / "val" / "hexagon").mkdir()
        shutil.copy(train / "square" / "000.png", root / "val" / "hexagon")
    elif case == "two_sizes":
        Image.new("L", (20, 20)).save(train / "square" / "big.png")
    elif case == "not_square":
        for path in root.rglob("*.png"):
            Image.new("L", (24, 16)).save(path)
    elif case == "one_class":
        shutil.rmtree(train / "square")
        shutil.rmtree(train / "triangle")
    elif case == "loose_files":
        for path in list(train.rglob("*.png")):
            path.rename(train / f"{path.parent.name}-{path.name}")
        for folder in [p for p in train.iterdir() if p.is_dir()]:
            folder.rmdir()
    return root


BAD = {
    "missing": "data.root={root}: no such folder",
    "no_train": "{root} has no train/ folder (it has images/, val/)",
    "empty_class": "{root}/train/hexagon holds no image file",
    "no_image": "{root}/train holds no image file at all",
    "unreadable": "{root}/train/square/notes.png is not an image Pillow can read",
    "truncated": "{root}/train/square/cut.png could not be read as an image",
    "hidden_class": "{root}/train/.ipynb_checkpoints cannot be a class: a hidden folder",
    "unknown_val_class": "{root}/val/hexagon is a class that {root}/train does not have",
    "two_sizes": "the images do not share one size:",
    "not_square": "the images are 24×16, not square; set data.image_size=<side>",
    "one_class": "{root}/train has 1 class folder (circle): a classifier needs at least two",
    "loose_files": "{root}/train has no class folder (it holds 9 image files directly)",
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_folder_is_one_error_and_nothing_is_cached(tmp_path: Path, case: str) -> None:
    root = bad_folder(tmp_path, case)
    cache = tmp_path / "cache"
    with pytest.raises((DataError, ConfigError)) as error:
        open_source({"dataset": "folder", "root": str(root), "cache_dir": str(cache)}).check()
    message = str(error.value)
    assert message.startswith(BAD[case].format(root=root)), message
    assert "\n" not in message
    assert not cache.exists()


def test_bad_files_can_be_skipped_with_a_count(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="lightcnn")
    root = bad_folder(tmp_path, "unreadable")
    shutil.copy(bad_folder(tmp_path, "truncated") / "train" / "square" / "cut.png", root / "train")
    (root / "train" / "circle" / "cut.png").write_bytes((root / "train" / "cut.png").read_bytes())
    options = {"dataset": "folder", "root": str(root), "skip_bad_files": True}
    source = open_source(options)
    assert len(source.scan().listing.files["train"]) == 9  # 3 per class, the 2 bad ones out
    source.report()
    assert "left out 2 unreadable file(s) (data.skip_bad_files=true)" in caplog.text


def test_other_datasets_refuse_folder_options(mnist_root: Path, image_folder: Path) -> None:
    with pytest.raises(ConfigError, match="data.root='x' is an option of data=folder only"):
        open_source({"dataset": "mnist", "data_dir": str(mnist_root), "root": "x"})
    with pytest.raises(ConfigError, match="data.num_classes=4 but shapes has 3 classes"):
        open_source({"dataset": "folder", "root": str(image_folder), "num_classes": 4})


# ----------------------------------------------------------------- a run, eval and predict


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A short LeNet-5 run on an image folder with train/ only (no val/, no test/)."""
    base = tmp_path_factory.mktemp("folder_run")
    root = write_image_folder(base / "shapes", counts={"train": 20})
    run_dir = base / "run"
    overrides = [
        "data=folder",
        f"data.root={root}",
        "data.val_size=0.25",
        "data.num_workers=0",
        "data.batch_size=16",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "logger=csv",
    ]
    try:
        train(compose_job("train", overrides, run_dir))
    finally:
        GlobalHydra.instance().clear()
    return root, run_dir


def test_a_run_without_test_reports_validation_only(folder_run) -> None:
    root, run_dir = folder_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["note"].startswith(f"{root} has no test/ folder, so this run reports valid")
    assert "val/acc" in metrics and "test/acc" not in metrics
    assert metrics["dataset"]["classes"] == ["circle", "square", "triangle"]
    report = (run_dir / "report" / "report.md").read_text()
    assert "on the shapes validation split" in report and metrics["note"] in report
    assert "| triangle |" in report  # class names in the per-class table
    payload = torch.load(best_checkpoint(run_dir), weights_only=True)
    facts = payload["datamodule_hyper_parameters"]["facts"]
    assert facts == metrics["dataset"]
    assert payload["hyper_parameters"]["input"]["mean"] == facts["mean"]  # the input contract
    assert payload["hyper_parameters"]["num_classes"] == 3


def test_eval_of_the_folder_checkpoint(folder_run, tmp_path: Path) -> None:
    _, run_dir = folder_run
    ckpt = best_checkpoint(run_dir)
    cfg = compose_job("eval", [f"ckpt_path={ckpt}", "split=val"], tmp_path / "val")
    try:
        metrics = evaluate(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert metrics["classes"] == ["circle", "square", "triangle"]
    assert metrics["count"] == 15  # the run's own held-out quarter of train/
    cfg = compose_job("eval", [f"ckpt_path={ckpt}"], tmp_path / "test")
    try:
        with pytest.raises(DataError, match="has no test split .* split=val"):
            evaluate(cfg)
    finally:
        GlobalHydra.instance().clear()


def test_predict_needs_the_checkpoint_only(folder_run, tmp_path: Path) -> None:
    root, run_dir = folder_run
    photo = tmp_path / "photos"
    photo.mkdir()
    Image.open(next((root / "train" / "square").glob("*.png"))).resize((64, 64)).save(
        photo / "big.png"
    )
    moved = root.with_name("elsewhere")
    root.rename(moved)
    try:
        cfg = compose_job(
            "predict", [f"ckpt_path={best_checkpoint(run_dir)}", f"inputs={photo}"], tmp_path / "p"
        )
        results = predict(cfg)
    finally:
        GlobalHydra.instance().clear()
        moved.rename(root)
    assert results[0].top[0][0] in ("circle", "square", "triangle")
    written = json.loads((tmp_path / "p" / "predictions.json").read_text())
    assert written["predictions"][0]["top"][0]["class"] in ("circle", "square", "triangle")


@pytest.mark.slow
def test_the_cli_refuses_a_bad_folder_in_one_line(tmp_path: Path) -> None:
    root = bad_folder(tmp_path, "empty_class")
    run_dir = tmp_path / "run"
    result = run_cli("data=folder", f"data.root={root}", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"lightcnn: error: {root}/train/hexagon holds no image file (searched for "
        ".png, .jpg, .jpeg, .bmp, .gif, .tif, .tiff, .webp, .ppm, .pgm); remove the "
        "folder or fill it"
    ]
    assert not run_dir.exists()


def test_a_continuation_of_a_folder_run_keeps_its_recipe(folder_run, tmp_path: Path) -> None:
    from lightcnn.config.validation import recipe_changes

    root, run_dir = folder_run
    same = ["data=folder", f"data.root={root}", "data.val_size=0.25", "data.batch_size=16"]
    cfg = compose_job("train", [*same, "trainer.max_epochs=4"], tmp_path / "run")
    GlobalHydra.instance().clear()
    # null num_classes and input resolve to what the run saved: nothing changed
    assert recipe_changes(cfg, best_checkpoint(run_dir)) == []
    other = compose_job("train", [*same[:2], "data.val_size=0.5"], tmp_path / "run2")
    GlobalHydra.instance().clear()
    assert "data.val_size: 0.25 → 0.5" in recipe_changes(other, best_checkpoint(run_dir))
