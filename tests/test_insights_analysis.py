"""The numbers and figures of the insights: metrics from torchmetrics on crafted predictions, the
running top-k of mistakes, and what each figure draws."""

from __future__ import annotations

import pytest
import torch
import torchmetrics

from lightcnn.evaluation.classification import ClassificationMetrics
from lightcnn.evaluation.curves import learning_curves_figure
from lightcnn.evaluation.figures import (
    calibration_figure,
    confusion_matrix_figure,
    denormalise,
    misclassified_figure,
    per_class_accuracy_figure,
)
from lightcnn.evaluation.predictions import Mistakes, PredictionAccumulator, Predictions
from lightcnn.inspection.figures import filters_figure, first_conv
from lightcnn.models import build_model

CLASSES = ("cat", "dog", "eel")


def logits_for(predicted: list[int], confidence: float = 0.9, classes: int = 3) -> torch.Tensor:
    """Logits whose softmax gives ``confidence`` to each predicted class, the rest shared."""
    rest = (1 - confidence) / (classes - 1)
    probs = torch.full((len(predicted), classes), rest)
    probs[torch.arange(len(predicted)), torch.tensor(predicted)] = confidence
    return probs.log()


def predictions(targets: list[int], predicted: list[int], confidence: float = 0.9) -> Predictions:
    empty = torch.empty(0, dtype=torch.long)
    return Predictions(
        logits_for(predicted, confidence),
        torch.tensor(targets),
        Mistakes(torch.empty(0, 1, 2, 2), empty, empty, torch.empty(0)),
    )


def test_the_confusion_matrix_has_true_rows_and_predicted_columns() -> None:
    # two cats called dogs, one dog right, one eel called a cat
    metrics = ClassificationMetrics.from_predictions(
        predictions([0, 0, 1, 2], [1, 1, 1, 0]), CLASSES
    )
    assert metrics.confusion_matrix.tolist() == [[0, 2, 0], [0, 1, 0], [1, 0, 0]]
    assert metrics.support == [2, 1, 1]
    figure = confusion_matrix_figure(metrics)
    ax = figure.axes[0]
    shown = ax.images[0].get_array()
    assert shown[0, 1] == 1.0 and shown[2, 0] == 1.0 and shown[1, 1] == 1.0  # row shares
    assert shown[0, 0] == 0.0
    assert ax.get_ylabel() == "true class" and ax.get_xlabel() == "predicted class"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    # each count sits at (x = predicted, y = true)
    cells = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 1): "2", (1, 1): "1", (2, 0): "1"}


def test_every_number_agrees_with_the_confusion_matrix() -> None:
    torch.manual_seed(0)
    targets = torch.randint(0, 3, (200,))
    logits = torch.randn(200, 3) + 2.0 * torch.nn.functional.one_hot(targets, 3)
    pred = Predictions(logits, targets, Mistakes(*[torch.empty(0)] * 4))
    metrics = ClassificationMetrics.from_predictions(pred, CLASSES)
    matrix = metrics.confusion_matrix.double()
    assert metrics.accuracy == metrics.correct / metrics.count == matrix.trace() / matrix.sum()
    assert metrics.accuracy == pytest.approx(
        float(torchmetrics.functional.accuracy(logits, targets, "multiclass", num_classes=3))
    )
    assert metrics.recall == pytest.approx((matrix.diag() / matrix.sum(1)).tolist())
    assert metrics.precision == pytest.approx((matrix.diag() / matrix.sum(0)).tolist())
    f1 = [2 * p * r / (p + r) for p, r in zip(metrics.precision, metrics.recall, strict=True)]
    assert metrics.f1 == pytest.approx(f1)
    assert metrics.macro_f1 == pytest.approx(sum(f1) / 3)
    assert metrics.loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, targets)))
    bins = metrics.reliability
    assert sum(bins.counts) == 200
    gap = sum(
        c / 200 * abs(a - p)
        for c, a, p in zip(bins.counts, bins.accuracy, bins.confidence, strict=True)
    )
    assert gap == pytest.approx(metrics.ece, abs=1e-6)
    table = metrics.to_dict()
    assert table["per_class"]["dog"]["recall"] == metrics.recall[1]
    assert table["confusion_matrix"] == metrics.confusion_matrix.tolist()


@pytest.mark.parametrize(("right", "confidence", "ece"), [(8, 0.8, 0.0), (5, 0.9, 0.4)])
def test_expected_calibration_error_on_crafted_confidence(
    right: int, confidence: float, ece: float
) -> None:
    """Ten samples, all predicted with the same confidence, ``right`` of them correctly."""
    targets = [0] * 10
    predicted = [0] * right + [1] * (10 - right)
    metrics = ClassificationMetrics.from_predictions(
        predictions(targets, predicted, confidence), CLASSES
    )
    assert metrics.ece == pytest.approx(ece, abs=1e-5)
    assert metrics.accuracy == right / 10


def test_top_confusions_are_the_largest_off_diagonal_cells() -> None:
    metrics = ClassificationMetrics.from_predictions(
        predictions([0, 0, 0, 1, 2, 2], [1, 1, 2, 1, 2, 0]), CLASSES
    )
    top = metrics.top_confusions()
    assert [(c.true, c.predicted, c.count) for c in top] == [
        ("cat", "dog", 2),
        ("cat", "eel", 1),
        ("eel", "cat", 1),
    ]
    assert top[0].share == pytest.approx(2 / 3)


def test_the_accumulator_keeps_the_most_confident_mistakes_across_batches() -> None:
    accumulator = PredictionAccumulator(keep_mistakes=3)
    confidences = [[0.9, 0.5, 0.7], [0.95, 0.6, 0.99]]
    for batch, conf in enumerate(confidences):
        # samples 0 and 1 of each batch are wrong (predicted 1 for class 0), sample 2 right
        logits = torch.stack(
            [logits_for([1], c)[0] if i < 2 else logits_for([0], c)[0] for i, c in enumerate(conf)]
        )
        images = torch.full((3, 1, 2, 2), float(batch)) + torch.arange(3).view(3, 1, 1, 1) / 10
        accumulator.update(logits, torch.zeros(3, dtype=torch.long), images)
    result = accumulator.compute()
    assert len(result) == 6
    kept = result.mistakes
    assert kept.confidences.tolist() == pytest.approx([0.95, 0.9, 0.6])  # never the right 0.99
    assert kept.targets.tolist() == [0, 0, 0] and kept.predictions.tolist() == [1, 1, 1]
    assert kept.images[:, 0, 0, 0].tolist() == pytest.approx([1.0, 0.0, 1.1])  # their images


def test_mistake_grid_is_grey_for_grey_data_and_colour_for_colour() -> None:
    grey = torch.rand(4, 1, 8, 8)
    mistakes = Mistakes(
        grey,
        torch.tensor([0, 1, 2, 0]),
        torch.tensor([1, 2, 0, 2]),
        torch.tensor([0.9, 0.8, 0.7, 0.6]),
    )
    figure = misclassified_figure(mistakes, CLASSES, mean=[0.0], std=[1.0])
    shown = figure.axes[0].images[0].get_array()
    assert (shown[..., 0] == shown[..., 1]).all()
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert labels[0] == "cat → dog\n(0.90)" and len(labels) == 4
    colour = Mistakes(
        torch.rand(2, 3, 8, 8), torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([0.9, 0.8])
    )
    shown = misclassified_figure(colour, CLASSES, [0.5] * 3, [0.2] * 3).axes[0].images[0]
    assert not (shown.get_array()[..., 0] == shown.get_array()[..., 1]).all()
    empty = Mistakes(
        torch.empty(0, 1, 8, 8), *[torch.empty(0, dtype=torch.long)] * 2, torch.empty(0)
    )
    assert "no mistakes" in misclassified_figure(empty, CLASSES, [0.0], [1.0]).texts[0].get_text()


def test_denormalise_inverts_the_normalisation() -> None:
    image = torch.rand(3, 4, 4)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    normalised = (image - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    torch.testing.assert_close(denormalise(normalised, mean, std), image)


def test_per_class_bars_and_reliability_diagram() -> None:
    metrics = ClassificationMetrics.from_predictions(
        predictions([0, 0, 1, 2], [1, 0, 1, 2], confidence=0.7), CLASSES
    )
    ax = per_class_accuracy_figure(metrics).axes[0]
    assert [bar.get_height() for bar in ax.patches] == pytest.approx([0.5, 1.0, 1.0])
    assert "weakest class cat 50.0%" in ax.get_title()
    top, bottom = calibration_figure(metrics.reliability, metrics.ece).axes
    assert "ECE" in top.get_title()
    assert sum(p.get_height() for p in bottom.patches) == 4  # samples per bin


def test_learning_curves_and_filters() -> None:
    history = [
        {"epoch": 1, "train/loss_epoch": 1.0, "val/loss": 0.8, "train/acc": 0.6, "val/acc": 0.7},
        {"epoch": 2, "train/loss_epoch": 0.7, "val/loss": 0.6, "train/acc": 0.8, "val/acc": 0.8},
    ]
    loss, accuracy = learning_curves_figure(history, label_smoothing=0.1).axes
    assert [line.get_ydata().tolist() for line in loss.lines] == [[1.0, 0.7], [0.8, 0.6]]
    assert "label smoothing 0.1" in loss.get_legend().get_texts()[0].get_text()
    assert len(accuracy.lines) == 2
    lenet = build_model("lenet5")
    conv = first_conv(lenet)
    assert conv is lenet.features[0]
    figure = filters_figure(conv.weight)
    assert sum(1 for ax in figure.axes if ax.images) == 6  # one per filter (plus a colour bar)
    rgb = filters_figure(build_model("alexnet_cifar", in_channels=3).features[0].weight)
    assert sum(1 for ax in rgb.axes if ax.images) == 64
