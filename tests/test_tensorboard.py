"""What TensorBoard shows of a run, read with TensorBoard's own event reader and HPARAMS backend:
the custom-scalars layout, the images of validation and test, and the HPARAMS session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image
from tensorboard import context
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, plugin_data_pb2

from conftest import compose_job
from lightcnn.callbacks import ClassificationFigures, FeatureMaps, FirstLayerFilters
from lightcnn.core.errors import ConfigError
from lightcnn.launch.build import build_callbacks
from lightcnn.train import train

FINAL_METRICS = {"test/acc", "test/loss", "val/best_acc", "wall_time_s"}


def events(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def session_hparams(folder: Path) -> dict[str, object]:
    """The hparams of the HPARAMS session written in ``folder``."""
    content = events(folder).PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {name: v.string_value or v.number_value for name, v in start.hparams.items()}


def hparams_tab(logdir: Path) -> api_pb2.Experiment:
    """The experiment TensorBoard's HPARAMS tab shows for ``logdir`` (its own backend)."""
    runs = multiplexer.EventMultiplexer()
    runs.AddRunsFromDirectory(str(logdir))
    runs.Reload()
    provider = data_provider.MultiplexerDataProvider(runs, str(logdir))
    tb_context = base_plugin.TBContext(logdir=str(logdir), multiplexer=runs, data_provider=provider)
    handler = get_experiment.Handler(
        context.RequestContext(),
        backend_context.Context(tb_context),
        "",
        api_pb2.GetExperimentRequest(),
    )
    return handler.run()


def test_the_run_opens_on_its_learning_curves(trained_run: Path) -> None:
    run = events(trained_run / "tensorboard")
    (config,) = run.Tensors("custom_scalars__config__")
    layout = layout_pb2.Layout.FromString(config.tensor_proto.string_val[0])
    charts = {chart.title: list(chart.multiline.tag) for chart in layout.category[0].chart}
    assert layout.category[0].title == "learning curves"
    assert charts == {
        "loss: train (epoch mean) and validation": [r"^train/loss_epoch$", r"^val/loss$"],
        "accuracy: train and validation": [r"^train/acc$", r"^val/acc$"],
        "learning rate": [r"^lr-"],
    }
    scalars = set(run.Tags()["scalars"])
    assert {"train/loss_epoch", "val/loss", "train/acc", "val/acc", "lr-AdamW"} <= scalars
    assert not any(tag.startswith("hp/") for tag in scalars)  # HPARAMS has the final values


def test_images_after_each_validation_and_after_the_test(trained_run: Path) -> None:
    run = events(trained_run / "tensorboard")
    steps = {tag: [image.step for image in run.Images(tag)] for tag in run.Tags()["images"]}
    # 6 steps per epoch; figures after every 10th epoch (the default) and the last, but the
    # last epoch's are the test's, which runs at the end: no validation figures in 2 epochs
    for figure in ("confusion_matrix", "per_class_accuracy", "misclassified"):
        assert f"val/{figure}" not in steps
        assert steps[f"test/{figure}"] == [12]
    assert steps["train/first_conv_filters"] == [0, 12]  # before training, then the last epoch
    matrix = run.Images("test/confusion_matrix")[0]
    assert matrix.width > 400 and matrix.height > 400
    # the test's images are the report's figures, drawn once for both
    with Image.open(trained_run / "report" / "confusion_matrix.png") as report_matrix:
        assert report_matrix.size == (matrix.width, matrix.height)
    assert run.Images("test/misclassified")[0].encoded_image_string[:4] == b"\x89PNG"


def test_the_hparams_session_holds_flat_choices_and_the_final_metrics(trained_run: Path) -> None:
    session = trained_run / "tensorboard" / "hparams"
    hparams = session_hparams(session)
    assert hparams["arch"] == "lenet5" and hparams["pool"] == "max"
    assert hparams["optimizer"] == "adamw" and hparams["dataset"] == "mnist"
    assert hparams["epochs"] == 2 and hparams["batch_size"] == 32 and hparams["image_size"] == 28
    assert hparams["random_crop"] == "true" and hparams["pretrained"] == "false"
    assert hparams["tags"] == "fixture"
    assert not any("_target_" in name or "/" in name for name in hparams)
    metrics = json.loads((trained_run / "metrics.json").read_text())
    finals = {tag: events(session).Scalars(tag)[-1].value for tag in FINAL_METRICS}
    assert finals["test/acc"] == pytest.approx(metrics["test/acc"])
    assert finals["test/loss"] == pytest.approx(metrics["test/loss"])
    assert finals["val/best_acc"] == pytest.approx(max(e["val/acc"] for e in metrics["history"]))
    assert finals["wall_time_s"] == pytest.approx(metrics["wall_time_s"])
    assert set(events(session).Tags()["scalars"]) == FINAL_METRICS


def test_hparams_tab_compares_runs_on_what_differs(
    trained_run: Path, tmp_path: Path, mnist_root: Path
) -> None:
    logdir = tmp_path / "logs"
    shutil.copytree(trained_run / "tensorboard", logdir / "a" / "tensorboard")
    overrides = [
        f"paths.data_dir={mnist_root}",
        "data.val_size=100",
        "data.num_workers=0",
        "data.batch_size=32",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=4",
        "tags=[fixture]",
        "model.pool=avg",
        "seed=7",
        "callbacks=none",
    ]
    try:
        train(compose_job("train", overrides, logdir / "b"))
    finally:
        GlobalHydra.instance().clear()
    experiment = hparams_tab(logdir)
    assert {info.name.tag for info in experiment.metric_infos} == FINAL_METRICS
    differing = [info.name for info in experiment.hparam_infos if info.differs]
    assert sorted(differing) == ["pool", "seed"]
    # the tab shows the first five columns, differing ones first
    assert [info.name for info in experiment.hparam_infos][:2] == ["pool", "seed"]


def test_figure_callbacks_are_on_by_default_and_off_costs_nothing(make_cfg, tmp_path: Path):
    kinds = (ClassificationFigures, FirstLayerFilters)
    callbacks = build_callbacks(make_cfg().callbacks)
    assert all(any(isinstance(c, kind) for c in callbacks) for kind in kinds)
    off = make_cfg(
        "callbacks.classification_figures=null",
        "callbacks.first_layer_filters=null",
        "debug=limit",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    )
    _, objects = train(off)
    assert not any(isinstance(c, kinds) for c in objects["trainer"].callbacks)
    assert events(tmp_path / "run" / "tensorboard").Tags()["images"] == []


def test_without_a_test_the_last_epoch_draws_the_validation_figures(make_cfg, tmp_path: Path):
    cfg = make_cfg(
        "test=false",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "callbacks.first_layer_filters=null",
    )
    train(cfg)
    run = events(tmp_path / "run" / "tensorboard")
    steps = {tag: [image.step for image in run.Images(tag)] for tag in run.Tags()["images"]}
    assert steps == {
        "val/confusion_matrix": [4],
        "val/per_class_accuracy": [4],
        "val/misclassified": [4],
    }


@pytest.mark.parametrize(
    ("test_report", "has_test", "epoch", "due"),
    [
        (True, True, 8, False),  # the test report's figures are the end's
        (True, True, 10, True),  # a 10th epoch is due anyway
        (True, True, 5, False),
        (True, False, 8, True),  # a validation-only report logs no figures
        (False, True, 8, True),
    ],
)
def test_the_last_epoch_is_due_unless_a_test_report_follows(test_report, has_test, epoch, due):
    figures = ClassificationFigures(every_n_epochs=10, test_report=test_report)
    figures.writers = [object()]
    trainer = SimpleNamespace(
        current_epoch=epoch - 1,
        max_epochs=8 if epoch <= 8 else epoch,
        datamodule=SimpleNamespace(has_test=has_test),
    )
    assert figures.due(trainer) is due


def test_without_tensorboard_the_figures_collect_nothing(make_cfg) -> None:
    cfg = make_cfg("logger=csv", "debug=fdr")
    _, objects = train(cfg)
    (figures,) = [c for c in objects["trainer"].callbacks if isinstance(c, ClassificationFigures)]
    assert figures.writers == [] and figures.predictions.empty


@pytest.mark.parametrize("kind", [ClassificationFigures, FirstLayerFilters, FeatureMaps])
def test_a_bad_interval_is_refused_naming_the_option(kind) -> None:
    with pytest.raises(ConfigError, match=rf"callbacks\.{kind.config_key}\.every_n_epochs=0"):
        kind(every_n_epochs=0)
