"""python -m lightcnn.summary: the table's numbers against the model, and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from lightning.pytorch.utilities.model_summary import ModelSummary
from rich.console import Console

from conftest import run_cli
from lightcnn.inspection.model_summary import summarize
from lightcnn.lit import ImageClassifier
from lightcnn.models import build_model
from lightcnn.nn import layer_output_shape
from lightcnn.summary import print_summary


def test_rows_match_the_model_and_the_arithmetic() -> None:
    model = build_model("lenet5", padding="reflect")
    summary = summarize(model, (1, 28, 28))
    modules = dict(model.named_modules())
    shape = (1, 28, 28)
    for row in summary.rows:
        # the traced shape equals the arithmetic's, layer by layer
        shape = layer_output_shape(modules[row.name], shape)
        assert row.shape == shape, row.name
        assert row.params == sum(p.numel() for p in modules[row.name].parameters())
    assert [row.name for row in summary.rows][:2] == ["features.0.0", "features.0.1"]  # pad, conv
    assert summary.params == sum(row.params for row in summary.rows)
    assert summary.params == sum(p.numel() for p in model.parameters())
    assert summary.rows[-1].shape == (10,)


def test_multiply_adds_per_layer_and_in_total() -> None:
    summary = summarize(build_model("lenet5"), (1, 28, 28))
    macs = {row.name: row.macs for row in summary.rows}
    assert macs["features.0"] == 6 * 24 * 24 * (5 * 5 * 1)
    assert macs["features.3"] == 16 * 8 * 8 * (5 * 5 * 6)
    assert macs["classifier.0"] == 16 * 4 * 4 * 120
    assert macs["features.2"] == 0  # pooling: no multiply-adds
    assert summary.macs == sum(macs.values())
    # Lightning's own model summary counts 2 FLOPs per multiply-add.
    module = ImageClassifier(arch="lenet5")
    assert ModelSummary(module).total_flops == 2 * summary.macs


@pytest.mark.parametrize(
    ("arch", "size", "padding", "sizes", "fields", "whole"),
    [
        ("lenet5", 28, "valid", [28, 24, 12, 8, 4], [5, 6, 14, 16], 28),
        # padded: the 7 units of the last map, 4 pixels apart, span 16 + 6·4 = 40 pixels
        ("lenet5", 28, "same", [28, 28, 14, 14, 7], [5, 6, 14, 16], 40),
        ("lenet5_1998", 32, "valid", [32, 28, 14, 10, 5, 1], [5, 6, 14, 16, 32], 32),
    ],
)
def test_map_sizes_and_receptive_fields(
    arch: str, size: int, padding: str, sizes: list[int], fields: list[int], whole: int
) -> None:
    summary = summarize(build_model(arch, image_size=size, padding=padding), (1, size, size))
    assert summary.spatial_sizes() == sizes
    assert [row.field.size for row in summary.rows if row.window] == fields
    assert summary.rows[-1].field.size == whole  # the classifier sees every map position


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([], ["lenet5: feature maps 28 → 24 → 12 → 8 → 4", "44,426", "281,640"]),
        (["model.padding=same"], ["lenet5: feature maps 28 → 28 → 14 → 14 → 7", "107,786"]),
        (["model=lenet5_1998"], ["lenet5_1998: feature maps 32 → 28 → 14 → 10 → 5 → 1"]),
    ],
)
def test_summary_prints_the_table_and_the_map_sizes(make_cfg, overrides, expected) -> None:
    console = Console(file=io.StringIO(), width=120)
    print_summary(make_cfg(*overrides, config_name="summary"), console)
    out = console.file.getvalue()
    for text in expected:
        assert text in out
    assert "features." in out and "mult-adds" in out and "RF" in out


@pytest.mark.slow
def test_summary_cli_names_a_bad_value_like_train(tmp_path: Path) -> None:
    result = run_cli("model.pool=median", module="lightcnn.summary", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "lightcnn: error: model=lenet5: model.pool='median' is not a LeNet-5 pooling; "
        "allowed: subsample, max, avg, min, lp"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_summary_cli_from_another_directory(tmp_path: Path) -> None:
    result = run_cli("model.padding=same", module="lightcnn.summary", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "feature maps 28 → 28 → 14 → 14 → 7" in result.stdout
    assert "6×28×28" in result.stdout and "16×7×7" in result.stdout
    assert list(tmp_path.iterdir()) == []  # a summary writes no run directory


def test_summary_leaves_the_model_as_it_was() -> None:
    model = build_model("lenet5").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summarize(model, (1, 28, 28))
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not model.features[0]._forward_hooks  # hooks removed
