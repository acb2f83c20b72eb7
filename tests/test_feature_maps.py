"""Feature maps: the maps one image produces, the PNG figure and the TensorBoard callback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightcnn.callbacks import FeatureMaps
from lightcnn.core.errors import ConfigError
from lightcnn.inspection.figures import feature_map_figure, feature_maps, render_feature_maps
from lightcnn.launch.build import build_callbacks
from lightcnn.models import build_model
from lightcnn.train import train


def test_maps_after_each_conv_and_pool_layer() -> None:
    model = build_model("lenet5")
    image = torch.randn(1, 28, 28)
    maps = feature_maps(model, image)
    assert [name for name, _ in maps] == ["features.0", "features.2", "features.3", "features.5"]
    assert [tuple(m.shape) for _, m in maps] == [(6, 24, 24), (6, 12, 12), (16, 8, 8), (16, 4, 4)]
    with torch.no_grad():
        conv = model.features[0](image.unsqueeze(0))[0]
        pooled = model.features[:3](image.unsqueeze(0))[0]
    # the conv's own output, before the in-place ReLU that follows it
    assert (maps[0][1] < 0).any()
    torch.testing.assert_close(maps[0][1], conv)
    torch.testing.assert_close(maps[1][1], pooled)


def test_figure_has_a_row_per_layer_and_the_png_is_written(tmp_path: Path) -> None:
    model = build_model("lenet5_1998", image_size=32, padding="reflect")
    image = torch.randn(1, 32, 32)
    figure = feature_map_figure(model, image, max_maps=4)
    rows, columns = figure.axes[0].get_subplotspec().get_gridspec().get_geometry()
    assert (rows, columns) == (1 + 5, 4)  # input, C1, S2, C3, S4, C5
    path = render_feature_maps(model, image, tmp_path / "figs" / "maps.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_color_images_render(tmp_path: Path) -> None:
    model = build_model("lenet5", in_channels=3, image_size=32)
    path = render_feature_maps(model, torch.randn(3, 32, 32), tmp_path / "rgb.png")
    assert path.is_file()


def test_callback_is_off_by_default(make_cfg) -> None:
    callbacks = build_callbacks(make_cfg().callbacks)
    assert not any(isinstance(c, FeatureMaps) for c in callbacks)
    callbacks = build_callbacks(make_cfg("callbacks=feature_maps").callbacks)
    assert sum(isinstance(c, FeatureMaps) for c in callbacks) == 1


def test_callback_logs_figures_every_n_epochs_and_after_the_last(make_cfg, tmp_path: Path):
    cfg = make_cfg(
        "callbacks=feature_maps",
        "callbacks.feature_maps.every_n_epochs=2",
        "callbacks.classification_figures=null",
        "callbacks.first_layer_filters=null",
        "debug=limit",
        "trainer.max_epochs=5",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    )
    train(cfg)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    images = events.Images("val/feature_maps")
    # after epochs 2 and 4, and the last (5); 2 steps each
    assert [image.step for image in images] == [4, 8, 10]
    assert images[0].width > 200 and images[0].height > 200


def test_callback_rejects_a_bad_interval() -> None:
    with pytest.raises(ConfigError, match="feature_maps.every_n_epochs=0 is not allowed"):
        FeatureMaps(every_n_epochs=0)
