"""Prediction entry point: ``python -m lightcnn.predict ckpt_path=PATH inputs=FILE_OR_DIR_OR_GLOB
[topk=3]`` or ``lightcnn-predict``.

Classifies image files (PNG, JPEG, BMP, ... any size, colour or grey) with the checkpoint's own
evaluation preprocessing, prints a table and writes ``predictions.csv`` and ``predictions.json``.
A file that cannot be read gets one error line and the others are still classified. Exit status:
0 when every file was classified, 1 when some could not be read, 2 on any other error.
"""

from __future__ import annotations

from lightcnn.core import collector, teardown

collector.pause_if_main(__name__)  # no garbage collections while the libraries load
teardown.skip_if_main(__name__)  # once done, exit without tearing the libraries down

import csv
import io
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader

from lightcnn.config import CONF_DIR
from lightcnn.core.errors import EXIT_USER_ERROR, DataError, LightcnnError, report
from lightcnn.core.io import write_json, write_text
from lightcnn.data.image_files import ImageFiles, find_images
from lightcnn.launch.console import configure_console, interactive
from lightcnn.models import network_name
from lightcnn.rundir.checkpoints import Checkpoint
from lightcnn.rundir.guards import discard_unused_run_dir
from lightcnn.rundir.layout import PREDICTIONS

log = logging.getLogger("lightcnn")
#: exit status when some files could not be read (the others were classified)
EXIT_SOME_FAILED = 1


@dataclass
class Prediction:
    """The top-k classes of one file, or why it could not be classified."""

    file: str
    top: list[tuple[str, float]] = field(default_factory=list)  # (class, probability)
    error: str = ""
    inverted: bool = False  # light background inverted to the dataset's light-on-dark

    def to_dict(self) -> dict[str, Any]:
        if self.error:
            return {"file": self.file, "error": self.error}
        top = [{"class": c, "prob": p} for c, p in self.top]
        return {"file": self.file, "top": top, "inverted": self.inverted}


def predict(cfg: DictConfig) -> list[Prediction]:
    """Classify ``cfg.inputs`` with ``cfg.ckpt_path``; write ``predictions.csv`` and
    ``predictions.json`` into ``cfg.paths.output_dir`` and print a table.

    Args:
        cfg: the composed ``predict`` config.

    Returns:
        One :class:`Prediction` per file, in order (failed files carry their error).
    """
    # Lightning loads here, once the options are checked (launch/hydra_callbacks.py)
    from lightning.pytorch.callbacks import LambdaCallback, RichProgressBar

    from lightcnn.launch.build import build

    collector.resume()  # everything is imported (lightcnn/core/collector.py)
    configure_console()
    inputs = OmegaConf.to_container(cfg.inputs) if OmegaConf.is_list(cfg.inputs) else cfg.inputs
    files, skipped = find_images(inputs)
    checkpoint = Checkpoint(cfg.ckpt_path, trust=cfg.get("net_target"))
    if skipped:
        log.info("Skipped %d file(s) without an image suffix, e.g. %s", len(skipped), skipped[0])
    source = checkpoint.dataset(cfg.get("dataset"))
    spec = checkpoint.requirement().resolve(source)
    model = checkpoint.model(spec)
    log.info(
        "Classifying %d file(s) with %s (%s, trained on %s): each brought to %s×%s, "
        "then to the model's input %d×%d×%d",
        len(files),
        checkpoint.path,
        network_name(model.hparams),
        source.name,
        source.image_size,
        source.image_size,
        spec.in_channels,
        spec.image_size,
        spec.image_size,
    )
    dataset = ImageFiles(files, spec, source, invert=cfg.get("invert", "auto"))
    loader = DataLoader(dataset, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
    status: list[tuple[bool, str, bool]] = []  # per file: read or not, why, inverted

    def keep_status(
        trainer: Any,
        module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        status.extend(zip(batch[1].tolist(), batch[2], batch[3].tolist(), strict=True))

    callbacks = [LambdaCallback(on_predict_batch_end=keep_status)]
    callbacks += [RichProgressBar()] if interactive() else []
    trainer = build(cfg.trainer, callbacks=callbacks, enable_progress_bar=interactive())
    probabilities = torch.cat(trainer.predict(model, loader)).float().cpu()

    topk = min(cfg.topk, probabilities.shape[1])
    values, indices = probabilities.topk(topk, dim=1)
    results = []
    for i, (path, (ok, error, inverted)) in enumerate(zip(files, status, strict=True)):
        if not ok:
            report(DataError(error))  # one line on stderr; predictions.csv keeps it too
            results.append(Prediction(str(path), error=error))
            continue
        pairs = zip(indices[i].tolist(), values[i].tolist(), strict=True)
        top = [(source.classes[c], p) for c, p in pairs]
        results.append(Prediction(str(path), top, inverted=inverted))
    flipped = sum(r.inverted for r in results)
    if flipped and cfg.get("invert", "auto") == "auto":
        log.info(
            "Inverted %d file(s) with a light background: %s images are light strokes on "
            "dark (invert=false keeps every file as it is)",
            flipped,
            source.name,
        )
    folder = Path(cfg.paths.output_dir)
    write_predictions(folder, results, topk, checkpoint, spec.to_dict())
    print_table(results, topk, cfg.max_rows, folder)
    return results


def write_predictions(
    folder: Path,
    results: list[Prediction],
    topk: int,
    checkpoint: Checkpoint,
    spec: dict[str, Any],
) -> None:
    """``predictions.csv`` (one row per file: ``file``, ``class_1``, ``prob_1``, ...,
    ``inverted``, ``error``) and ``predictions.json`` (the same, with the checkpoint and its
    input).

    Args:
        folder: the result folder.
        results: one per file, in order.
        topk: how many classes each result holds.
        checkpoint: the checkpoint that classified them.
        spec: the input the images were brought to.
    """
    header = ["file"]
    for k in range(1, topk + 1):
        header += [f"class_{k}", f"prob_{k}"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([*header, "inverted", "error"])
    for result in results:
        cells: list[Any] = [result.file]
        for k in range(topk):
            cells += [*result.top[k][:1], f"{result.top[k][1]:.6f}"] if result.top else ["", ""]
        writer.writerow([*cells, int(result.inverted), result.error])
    write_text(folder / "predictions.csv", text.getvalue())
    write_json(
        folder / PREDICTIONS,
        {
            "ckpt_path": str(checkpoint.path),
            "arch": checkpoint.hparams.get("arch"),
            **({"net": checkpoint.hparams["net"]} if checkpoint.hparams.get("net") else {}),
            "input": spec,
            "topk": topk,
            "count": len(results),
            "failed": sum(1 for r in results if r.error),
            "predictions": [r.to_dict() for r in results],
        },
    )


def print_table(results: list[Prediction], topk: int, max_rows: int, folder: Path) -> None:
    """Print the first ``max_rows`` classified files as a table, then where all of them are.

    Args:
        results: one per file.
        topk: how many classes each result holds.
        max_rows: rows to show (0: no table).
        folder: where the predictions were written.
    """
    console = Console(width=None if interactive() else 120)
    classified = [r for r in results if not r.error]
    table = Table(show_edge=False, header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("class")
    table.add_column("prob", justify="right")
    if topk > 1:
        table.add_column(f"next {topk - 1}")
    root = common_parent([Path(r.file) for r in results])
    for result in classified[:max_rows]:
        (best, prob), rest = result.top[0], result.top[1:]
        cells = [str(Path(result.file).relative_to(root)), best, f"{prob:.3f}"]
        if topk > 1:
            cells.append("  ".join(f"{c} {p:.3f}" for c, p in rest))
        table.add_row(*cells)
    if classified and max_rows:
        console.print(table)
    more = len(classified) - max_rows
    if more > 0 and max_rows:
        console.print(f"… and {more:,} more", highlight=False, soft_wrap=True)
    failed = len(results) - len(classified)
    summary = f"{len(classified):,} of {len(results):,} file(s) classified"
    if failed:
        summary += f", {failed:,} could not be read"
    console.print(
        f"{summary}. Predictions: {folder / 'predictions.csv'}", highlight=False, soft_wrap=True
    )


def common_parent(paths: list[Path]) -> Path:
    """The deepest folder holding every path."""
    return Path(os.path.commonpath([p.parent for p in paths])) if paths else Path()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    try:
        results = predict(cfg)
    except LightcnnError as error:
        report(error)
        discard_unused_run_dir(Path(cfg.paths.output_dir))
        sys.exit(EXIT_USER_ERROR)
    if any(result.error for result in results):
        sys.exit(EXIT_SOME_FAILED)


if __name__ == "__main__":
    main()
    teardown.finished()
