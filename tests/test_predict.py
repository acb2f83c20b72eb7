"""Prediction on image files: every format and mode brought to the model's input exactly as the
evaluation data is, broken files reported one by one, the table and the two result files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from conftest import best_checkpoint, compose_job, run_cli
from lightcnn.core.errors import DataError
from lightcnn.data import MNISTSource
from lightcnn.data.image_files import ImageFiles, find_images, read_image
from lightcnn.data.module import ImageDataModule
from lightcnn.models import InputSpec
from lightcnn.predict import predict
from lightcnn.rundir.checkpoints import Checkpoint


def run_predict(output_dir: Path, *overrides: str) -> list:
    try:
        return predict(compose_job("predict", list(overrides), output_dir))
    finally:
        GlobalHydra.instance().clear()


def write_images(folder: Path) -> dict[str, str]:
    """Images in many formats, sizes and modes, a truncated PNG and a text file named .png.

    Returns file name → expected outcome (``ok`` or the start of its error)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    colour = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(grey).save(folder / "grey_28.png")
    Image.fromarray(colour).save(folder / "rgb_64x48.png")
    Image.fromarray(colour).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(colour).convert("P").save(folder / "palette.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "grey_16bit.png")
    Image.fromarray(colour).save(folder / "photo.jpg", quality=90)
    Image.fromarray(grey).resize((100, 100)).save(folder / "grey_100.jpeg")
    Image.fromarray(colour[:30, :20]).save(folder / "small_20x30.bmp")
    nested = folder / "more"
    nested.mkdir()
    Image.fromarray(grey).save(nested / "nested.png")
    whole = (folder / "grey_28.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.png").write_text("not an image, just text\n")
    (folder / "readme.txt").write_text("skipped: no image suffix\n")
    outcomes = {p.name: "ok" for p in folder.rglob("*") if p.suffix != ".txt" and p.is_file()}
    outcomes["truncated.png"] = "could not be read as an image"
    outcomes["notes.png"] = "is not an image file"
    return outcomes


def test_every_format_and_mode_is_classified_and_broken_files_are_named(
    trained_run: Path, tmp_path: Path
) -> None:
    images = tmp_path / "images"
    outcomes = write_images(images)
    results = run_predict(
        tmp_path / "out", f"ckpt_path={best_checkpoint(trained_run)}", f"inputs={images}", "topk=3"
    )
    by_name = {Path(r.file).name: r for r in results}
    assert set(by_name) == set(outcomes)  # readme.txt skipped, nested.png found
    for name, outcome in outcomes.items():
        result = by_name[name]
        if outcome == "ok":
            assert not result.error, result.error
            probs = [p for _, p in result.top]
            assert len(result.top) == 3 and probs == sorted(probs, reverse=True)
            assert 0 < sum(probs) <= 1 + 1e-6
        else:
            assert result.error.startswith(f"{images / name} {outcome}"), result.error
    rows = list(csv.DictReader((tmp_path / "out" / "predictions.csv").open()))
    assert [Path(row["file"]).name for row in rows] == [Path(r.file).name for r in results]
    assert rows[0].keys() == {
        "file",
        "class_1",
        "prob_1",
        "class_2",
        "prob_2",
        "class_3",
        "prob_3",
        "inverted",
        "error",
    }
    broken = next(row for row in rows if row["file"].endswith("notes.png"))
    assert broken["class_1"] == "" and "is not an image file" in broken["error"]
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert saved["count"] == len(outcomes) and saved["failed"] == 2
    assert saved["input"]["image_size"] == 28 and saved["topk"] == 3
    first = next(p for p in saved["predictions"] if "top" in p)
    assert first["top"][0]["class"] == by_name[Path(first["file"]).name].top[0][0]


def test_saved_test_digits_get_exactly_the_evaluation_probabilities(
    trained_run: Path, tmp_path: Path, mnist_root: Path
) -> None:
    """PNG copies of test images go through predict's path and the data module's tensor
    pipeline; the model gives both the same probabilities. Their negatives (dark ink on light
    paper) are inverted back and get the same probabilities too, unless ``invert=false``."""
    checkpoint = Checkpoint(best_checkpoint(trained_run))
    data = ImageDataModule(**checkpoint.data_options({}), input=checkpoint.requirement().to_dict())
    model = checkpoint.model(data.input)
    data.setup("test")
    images, labels = data.test_set.tensors
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(images[i, 0].numpy()).save(folder / f"{i:02d}.png")
        Image.fromarray(255 - images[i, 0].numpy()).save(folder / f"{i:02d}_paper.png")
    ckpt = f"ckpt_path={checkpoint.path}"
    results = run_predict(tmp_path / "out", ckpt, f"inputs={folder}/*.png", "topk=10")
    batch, _ = data.on_after_batch_transfer((images[:12], labels[:12]), 0)
    with torch.no_grad():
        expected = model(batch).softmax(dim=1)
    for i in range(12):
        digit, paper = results[2 * i], results[2 * i + 1]
        assert Path(paper.file).name == f"{i:02d}_paper.png"
        assert not digit.inverted and paper.inverted
        for result in (digit, paper):
            got = dict(result.top)
            assert [got[c] for c in data.classes] == pytest.approx(expected[i].tolist(), abs=1e-5)
    kept = run_predict(tmp_path / "kept", ckpt, f"inputs={folder}/*_paper.png", "invert=false")
    assert not any(r.inverted for r in kept)
    assert sum(r.top[0][0] == str(int(labels[i])) for i, r in enumerate(kept)) < 6


def test_reading_brings_any_image_to_the_datasets_channels_and_side(tmp_path: Path) -> None:
    grey = np.arange(28 * 28, dtype=np.uint16).reshape(28, 28) * 80  # up to 62,640 of 65,535
    Image.fromarray(grey).save(tmp_path / "deep.png")
    pixels = read_image(tmp_path / "deep.png", channels=1, side=28)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 28, 28)
    assert int(pixels.max()) == round(62640 / 65535 * 255)  # scaled, not clipped to white
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[..., :3], rgba[:5, :, 3] = 255, 255  # white, the lower half transparent
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    pixels = read_image(tmp_path / "alpha.png", channels=1, side=10)
    assert pixels[0, 0].tolist() == [255] * 10 and pixels[0, -1].tolist() == [0] * 10
    Image.fromarray(np.full((60, 30, 3), 200, dtype=np.uint8)).save(tmp_path / "tall.bmp")
    assert read_image(tmp_path / "tall.bmp", channels=3, side=32).shape == (3, 32, 32)
    spec = InputSpec(mean=(0.5,), std=(0.25,)).resolve(MNISTSource)
    dataset = ImageFiles([tmp_path / "tall.bmp"], spec, MNISTSource)
    image, ok, error, inverted = dataset[0]
    assert ok and error == "" and image.shape == (1, 28, 28)
    assert inverted  # light everywhere: MNIST's digits are light on dark
    assert image.unique().tolist() == pytest.approx([((255 - 200) / 255 - 0.5) / 0.25], abs=1e-5)
    assert not ImageFiles([tmp_path / "tall.bmp"], spec, MNISTSource, invert=False)[0][3]


def test_inputs_are_files_folders_globs_or_lists(tmp_path: Path) -> None:
    for name in ("b.png", "a.jpg", "sub/c.bmp"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "skip.txt").write_text("x")
    files, skipped = find_images(str(tmp_path))
    assert [f.name for f in files] == ["a.jpg", "b.png", "c.bmp"]
    assert [p.name for p in skipped] == ["skip.txt"]
    files, _ = find_images(
        [str(tmp_path / "b.png"), str(tmp_path / "*.jpg"), str(tmp_path / "b.png")]
    )
    assert [f.name for f in files] == ["b.png", "a.jpg"]
    files, _ = find_images(str(tmp_path / "**" / "*.bmp"))
    assert [f.name for f in files] == ["c.bmp"]
    with pytest.raises(DataError, match="no such file or folder"):
        find_images(str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="no file matches this pattern"):
        find_images(str(tmp_path / "*.gif"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image file found"):
        find_images(str(tmp_path / "empty"))


@pytest.mark.slow
def test_predict_cli_prints_a_table_names_broken_files_and_exits_1(
    trained_run: Path, tmp_path: Path
) -> None:
    images = tmp_path / "images"
    outcomes = write_images(images)
    out = tmp_path / "out"
    result = run_cli(
        f"ckpt_path={best_checkpoint(trained_run)}",
        f"inputs={images}",
        f"hydra.run.dir={out}",
        "max_rows=3",
        cwd=tmp_path,
        module="lightcnn.predict",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"lightcnn: error: {images / 'notes.png'} is not an image file (Pillow recognises no "
        "image format in it)",
        f"lightcnn: error: {images / 'truncated.png'} could not be read as an image: image file "
        "is truncated",
    ]
    ok = sum(1 for outcome in outcomes.values() if outcome == "ok")
    assert f"… and {ok - 3} more" in result.stdout
    assert f"{ok} of {len(outcomes)} file(s) classified, 2 could not be read." in result.stdout
    assert "grey_100.jpeg" in result.stdout and (out / "predictions.csv").is_file()


def test_a_colour_model_evaluates_and_predicts_with_its_class_names(
    cifar10_root: Path, tmp_path: Path
) -> None:
    """AlexNet (CIFAR-sized) on the small CIFAR-10: the report names CIFAR's classes, and grey
    or odd-sized files become 3-channel 32×32 images first."""
    from fakedata import CIFAR10_CLASSES
    from lightcnn.eval import evaluate
    from lightcnn.train import train

    run = tmp_path / "run"
    overrides = [
        "model=alexnet_cifar",
        "data=cifar10",
        f"paths.data_dir={cifar10_root}",
        "data.val_size=50",
        "data.num_workers=0",
        "data.batch_size=16",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
    ]
    try:
        train(compose_job("train", overrides, run))
        report = evaluate(
            compose_job("eval", [f"ckpt_path={best_checkpoint(run)}"], tmp_path / "e")
        )
    finally:
        GlobalHydra.instance().clear()
    assert report["classes"] == list(CIFAR10_CLASSES) and report["count"] == 100  # all of it
    assert report["input"]["in_channels"] == 3 and len(report["input"]["mean"]) == 3
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.full((40, 20), 128, dtype=np.uint8)).save(images / "grey.png")
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(images / "rgb.jpg")
    results = run_predict(tmp_path / "p", f"ckpt_path={best_checkpoint(run)}", f"inputs={images}")
    assert [r.error for r in results] == ["", ""]
    assert all(r.top[0][0] in CIFAR10_CLASSES for r in results)
