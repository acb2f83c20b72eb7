"""The evaluation report of a checkpoint on a split, assembled from a pass's predictions:
``metrics.json`` (accuracy, loss, per-class precision / recall / F1, macro averages, ECE, the
confusion matrix, top confusions; which checkpoint and data), ``report.md`` (the same as
readable tables) and the figures ``confusion_matrix.png``, ``per_class_accuracy.png``,
``misclassified.png``, ``calibration.png`` and ``curves.png`` (when the run's history is known),
written by :func:`write_report`. ``lightcnn.eval`` writes one for a checkpoint; a training run
writes one for its own test into ``<run>/report/`` (``launch/fit.py``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from lightcnn.core.errors import DataError
from lightcnn.core.io import atomic_path, write_json, write_text
from lightcnn.evaluation.classification import ClassificationMetrics
from lightcnn.evaluation.curves import learning_curves_figure
from lightcnn.evaluation.figures import (
    calibration_figure,
    confusion_matrix_figure,
    misclassified_figure,
    per_class_accuracy_figure,
)
from lightcnn.evaluation.predictions import Mistakes, Predictions
from lightcnn.models import network_name, uses_pretrained_weights
from lightcnn.rundir.layout import METRICS

#: The options of a model worth naming in a report, after its architecture.
MODEL_OPTIONS = ("pool", "padding", "activation", "lrn", "dropout", "pretrained", "finetune")
SPLIT_NAMES = {"test": "test", "val": "validation"}


@dataclass(frozen=True)
class ReportContext:
    """What was evaluated: which checkpoint, model, input and data.

    Args:
        split: ``test`` or ``val``.
        ckpt_path: the checkpoint file.
        model: the checkpoint's model hyperparameters (``arch``, options, ``input``, ...).
        data: the data module's options (``dataset``, ``data_dir``, ...).
        dataset_name: the dataset's display name (``MNIST``).
        epoch: the epoch the checkpoint was saved after (1-based), when known.
        step: its global step, when known.
        history: the run's per-epoch metrics (``metrics.json``'s ``history``), when known.
        command: the command that made the report.
        note: a line the report states under its table (a run of a dataset without a test
            split reports validation only).
    """

    split: str
    ckpt_path: str
    model: Mapping[str, Any]
    data: Mapping[str, Any]
    dataset_name: str
    epoch: int | None = None
    step: int | None = None
    history: Sequence[Mapping[str, Any]] = field(default_factory=list)
    command: str = ""
    note: str = ""

    def describe_model(self) -> str:
        """``arch · option value · ...`` (fine-tuning only for pretrained models)."""
        shown = [key for key in MODEL_OPTIONS if key in self.model]
        if not uses_pretrained_weights(self.model):
            shown = [key for key in shown if key not in ("pretrained", "finetune")]
        options = [f"{key} {self.model[key]}" for key in shown]
        return " · ".join([network_name(self.model), *options])

    def describe_input(self) -> str:
        """The resolved input: side, channels, fit, normalisation."""
        spec = self.model.get("input") or {}
        if not spec:
            return "unknown"
        channels = spec["in_channels"]
        return (
            f"{spec['image_size']}×{spec['image_size']}, {channels} channel"
            f"{'s' if channels > 1 else ''} ({spec['fit']}), mean {spec['mean']}, "
            f"std {spec['std']}"
        )


@dataclass
class Report:
    """The report's contents: ``metrics.json``, ``report.md`` and the figures by file name."""

    metrics: dict[str, Any]
    markdown: str
    figures: dict[str, Figure]


def build_report(
    metrics: ClassificationMetrics, mistakes: Mistakes, context: ReportContext
) -> Report:
    """Assemble the report of one pass.

    Args:
        metrics: the pass's metrics.
        mistakes: its most confident mistakes (model inputs, normalised).
        context: what was evaluated.
    """
    spec = context.model.get("input") or {}
    label_smoothing = float(context.model.get("label_smoothing") or 0.0)
    split = SPLIT_NAMES.get(context.split, context.split)
    figures = {
        "confusion_matrix.png": confusion_matrix_figure(
            metrics, f"Confusion matrix, {context.dataset_name} {split}: {_accuracy(metrics)}"
        ),
        "per_class_accuracy.png": per_class_accuracy_figure(metrics),
        "misclassified.png": misclassified_figure(
            mistakes, metrics.classes, spec.get("mean", [0.0]), spec.get("std", [1.0])
        ),
        "calibration.png": calibration_figure(metrics.reliability, metrics.ece),
    }
    if context.history:
        figures["curves.png"] = learning_curves_figure(
            context.history, label_smoothing, f"{context.describe_model()} — learning curves"
        )
    payload = {
        "split": context.split,
        "ckpt_path": context.ckpt_path,
        "epoch": context.epoch,
        "step": context.step,
        "dataset": context.data.get("dataset"),
        "data_dir": context.data.get("root") or context.data.get("data_dir"),
        "arch": context.model.get("arch"),
        **({"net": dict(context.model["net"])} if context.model.get("net") else {}),
        "input": spec,
        **({"note": context.note} if context.note else {}),
        "mean_confidence": mean_confidence(metrics),
        **metrics.to_dict(),
    }
    return Report(payload, render_markdown(metrics, context, list(figures)), figures)


def mean_confidence(metrics: ClassificationMetrics) -> float:
    """The mean top-1 probability over the pass (from the reliability bins)."""
    bins = metrics.reliability
    total = sum(bins.counts)
    return sum(c * m for c, m in zip(bins.counts, bins.confidence, strict=True)) / max(1, total)


def render_markdown(
    metrics: ClassificationMetrics, context: ReportContext, figures: Sequence[str]
) -> str:
    """``report.md``: what was evaluated, the summary, per-class table, top confusions, figures.

    Args:
        metrics: the pass's metrics.
        context: what was evaluated.
        figures: the figure file names, in order.
    """
    split = SPLIT_NAMES.get(context.split, context.split)
    saved = ""
    if context.epoch is not None:
        saved = f" (saved after epoch {context.epoch}, step {context.step})"
    lines = [
        f"# {network_name(context.model)} on the {context.dataset_name} {split} split",
        "",
        "| | |",
        "| --- | --- |",
        f"| checkpoint | `{context.ckpt_path}`{saved} |",
        f"| model | {context.describe_model()} |",
        f"| input | {context.describe_input()} |",
        f"| data | {context.dataset_name} {split} split, {metrics.count:,} images, from "
        f"`{context.data.get('root') or context.data.get('data_dir')}` |",
    ]
    if context.command:
        lines.append(f"| command | `{context.command}` |")
    if context.note:
        lines += ["", f"**{context.note}**"]
    lines += [
        "",
        "## Summary",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| accuracy | {_accuracy(metrics)} |",
        f"| loss (cross-entropy, no label smoothing) | {metrics.loss:.4f} |",
        f"| macro precision | {metrics.macro_precision:.4f} |",
        f"| macro recall | {metrics.macro_recall:.4f} |",
        f"| macro F1 | {metrics.macro_f1:.4f} |",
        f"| expected calibration error ({len(metrics.reliability.counts)} bins) | "
        f"{metrics.ece:.4f} |",
        f"| mean confidence | {100 * mean_confidence(metrics):.2f}% |",
        "",
        *_calibration_note(metrics, float(context.model.get("label_smoothing") or 0.0)),
        "## Per class",
        "",
        "| class | precision | recall (accuracy) | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for i, name in enumerate(metrics.classes):
        lines.append(
            f"| {name} | {metrics.precision[i]:.4f} | {metrics.recall[i]:.4f} | "
            f"{metrics.f1[i]:.4f} | {metrics.support[i]:,} |"
        )
    lines += ["", "## Top confusions", ""]
    confusions = metrics.top_confusions()
    if confusions:
        lines += [
            "| true | predicted | count | share of the true class |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {c.true} | {c.predicted} | {c.count:,} | {100 * c.share:.2f}% |" for c in confusions
        ]
    else:
        lines.append("No mistakes.")
    lines += ["", "## Figures", ""]
    lines += [f"![{name.removesuffix('.png')}]({name})" for name in figures]
    return "\n".join(lines) + "\n"


def _accuracy(metrics: ClassificationMetrics) -> str:
    return f"{100 * metrics.accuracy:.2f}% ({metrics.correct:,} / {metrics.count:,})"


def _calibration_note(metrics: ClassificationMetrics, label_smoothing: float) -> list[str]:
    """One sentence on the direction of the calibration error, when there is one to explain."""
    confidence = mean_confidence(metrics)
    gap = confidence - metrics.accuracy
    if abs(gap) < 0.01:
        return []
    if gap < 0:
        why = (
            f", as expected of a model trained with label smoothing {label_smoothing:g}"
            if label_smoothing
            else ""
        )
        return [
            f"The model is under-confident: its mean confidence is {100 * confidence:.2f}% "
            f"for an accuracy of {100 * metrics.accuracy:.2f}%{why}.",
            "",
        ]
    return [
        f"The model is over-confident: its mean confidence is {100 * confidence:.2f}% for an "
        f"accuracy of {100 * metrics.accuracy:.2f}%.",
        "",
    ]


def make_report(
    predictions: Predictions | None, classes: tuple[str, ...], context: ReportContext
) -> Report:
    """The report of a pass (its metrics, markdown and figures).

    Args:
        predictions: what the pass predicted (None or empty: an error naming the split).
        classes: the class names, in label order.
        context: which checkpoint, data and history.
    """
    if predictions is None or len(predictions) == 0:
        raise DataError(f"the {context.split} split gave no batch to evaluate")
    metrics = ClassificationMetrics.from_predictions(predictions, classes)
    return build_report(metrics, predictions.mistakes, context)


def write_report(folder: Path, report: Report) -> dict[str, bytes]:
    """Write the figures, ``report.md`` and, last, ``metrics.json`` into ``folder``, each file
    atomically (a reader never sees half a file).

    Returns the PNG files' bytes by name: each figure is drawn once, and a training run logs
    the same images to TensorBoard (``callbacks/tensorboard_figures.py``).

    Args:
        folder: the report folder (created).
        report: what :func:`build_report` assembled.
    """
    images = {}
    for name, figure in report.figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        images[name] = buffer.getvalue()
        with atomic_path(folder / name) as partial:
            partial.write_bytes(images[name])
    write_text(folder / "report.md", report.markdown)
    write_json(folder / METRICS, report.metrics)
    return images


def summary_line(metrics: Mapping[str, Any]) -> str:
    """One line: the split's accuracy, loss, macro F1 and calibration error."""
    return (
        f"{metrics['split']}: accuracy {100 * metrics['accuracy']:.2f}% "
        f"({metrics['correct']:,}/{metrics['count']:,}) · loss {metrics['loss']:.4f} · "
        f"macro F1 {metrics['macro_f1']:.4f} · ECE {metrics['ece']:.4f}"
    )
