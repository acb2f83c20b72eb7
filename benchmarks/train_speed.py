"""Seconds per training epoch: a hand-written PyTorch loop against lightcnn's two pipelines.

Each run is a fresh subprocess (so peak memory is its own), repeats are interleaved
(a, b, c, a, b, c, ...), and every variant trains the same network with the same optimizer,
batch size, epochs and data:

    a  plain: the dataset as one normalised float tensor, a hand-written loop, torch.optim.Adam
       as constructed by default
    b  lightcnn, data.pipeline=tensor
    c  lightcnn, data.pipeline=torchvision (per-sample transforms, DataLoader workers)
    plain_fused: a with Adam(fused=True), the update lightcnn uses where it applies; the
       reference that isolates lightcnn's own overhead

b and c run through lightcnn's own run setup (callbacks, checkpoints, TensorBoard logger,
validation) and time the training batches only; the first epoch of each run is a warm-up.

    python benchmarks/train_speed.py                       # LeNet-5 on MNIST (LIGHTCNN_DATA_DIR)
    python benchmarks/train_speed.py --model alexnet_cifar --data cifar10 --limit 5000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("plain", "tensor", "torchvision", "plain_fused")
FAKE_CIFAR_NAME = "lightcnn-bench-cifar10"


def run_plain(args: argparse.Namespace, fused: bool = False) -> list[float]:
    import torch
    import torch.nn.functional as F

    from lightcnn.models import build_model

    images, labels, channels, size = load_train(args)
    torch.manual_seed(0)
    net = build_model(args.model, num_classes=10, in_channels=channels, image_size=size)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(labels))
        for i in range(0, len(order), args.batch_size):
            index = order[i : i + args.batch_size]
            loss = F.cross_entropy(net(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def load_train(args: argparse.Namespace):
    """The training split as the plain loop holds it: one normalised float tensor."""
    import torch

    from lightcnn.data import CIFAR10DataModule, MNISTDataModule

    module = MNISTDataModule if args.data == "mnist" else CIFAR10DataModule
    dm = module(args.data_dir, val_size=args.val_size, seed=0)
    dm.setup("fit")
    images, labels = dm.train_set.tensors
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    mean = torch.tensor(dm.source.mean).view(1, -1, 1, 1)
    std = torch.tensor(dm.source.std).view(1, -1, 1, 1)
    return (images.float() / 255 - mean) / std, labels, dm.source.channels, dm.source.image_size


def run_lightcnn(args: argparse.Namespace, pipeline: str) -> list[float]:
    """Train through lightcnn's own run setup (``launch.build.build_trainer``: its
    callbacks, checkpoints, TensorBoard logger and validation), timing the training batches of
    each epoch."""
    import lightning as L
    from hydra import compose, initialize_config_dir

    from lightcnn.config import CONF_DIR
    from lightcnn.launch.build import build_data_and_model, build_trainer

    class EpochTimer(L.Callback):
        """Seconds from an epoch's start to the end of its last training batch (validation
        and checkpointing, which the plain loop does not do, are left out)."""

        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_epoch_start(self, trainer, module) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            if batch_idx + 1 == trainer.num_training_batches:
                self.times.append(time.perf_counter() - self.start)

    output_dir = tempfile.mkdtemp(prefix="lightcnn-bench-run-")
    overrides = [
        f"model={args.model}", f"data={args.data}", f"data.data_dir={args.data_dir}",
        f"data.pipeline={pipeline}", f"data.batch_size={args.batch_size}",
        f"data.val_size={args.val_size}", f"data.num_workers={args.workers}",
        "data.random_crop=false", "data.horizontal_flip=false", "data.brightness=0",
        "data.contrast=0", "model.optimizer=adam", "model.lr=0.001", "model.scheduler=none",
        "model.weight_decay=0", "model.label_smoothing=0", f"trainer.max_epochs={args.epochs}",
        "trainer.accelerator=cpu", f"paths.output_dir={output_dir}", "seed=0",
        f"trainer.limit_train_batches={args.limit // args.batch_size if args.limit else 1.0}",
    ]  # fmt: skip
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    L.seed_everything(0, verbose=False)
    datamodule, model = build_data_and_model(cfg)
    timer = EpochTimer()
    trainer, _ = build_trainer(cfg, extra_callbacks=[timer])
    trainer.fit(model, datamodule=datamodule)
    shutil.rmtree(output_dir, ignore_errors=True)
    return timer.times


def child(args: argparse.Namespace) -> None:
    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    if args.data == "cifar10" and FAKE_CIFAR_NAME in args.data_dir:
        accept_checksums(Path(args.data_dir))
    if args.variant.startswith("plain"):
        times = run_plain(args, fused=args.variant == "plain_fused")
    else:
        times = run_lightcnn(args, args.variant)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kib += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # loader workers
    print(json.dumps({"times": times, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--data", default="mnist", choices=("mnist", "cifar10"))
    parser.add_argument("--data-dir", default=os.environ.get("LIGHTCNN_DATA_DIR", "data"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is warm-up")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--workers", type=int, default=2, help="loader workers (torchvision)")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data == "cifar10" and not (Path(args.data_dir) / "cifar-10-batches-py").is_dir():
        args.data_dir = fake_cifar10()
    if args.variant:
        child(args)
        return
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for repeat in range(args.repeats):
        for name in VARIANTS:
            command = [
                sys.executable,
                __file__,
                *sys.argv[1:],
                "--variant",
                name,
                "--data-dir",
                str(args.data_dir),
            ]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results[name].append(json.loads(out.strip().splitlines()[-1]))
            timed = results[name][-1]["times"][1:]
            print(
                f"repeat {repeat + 1} {name:12s} {statistics.mean(timed):6.2f} s/epoch", flush=True
            )
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    epoch = {
        n: statistics.median(t for r in rs for t in r["times"][1:]) for n, rs in results.items()
    }
    peak = {n: max(r["peak_mib"] for r in rs) for n, rs in results.items()}
    print(f"\n{args.model} on {args.data}, batch {args.batch_size}, Adam, {args.repeats} repeats "
          f"x {args.epochs - 1} timed epochs, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'variant':14s}{'s/epoch':>9s}{'vs plain':>10s}{'vs fused':>10s}"
          f"{'peak MiB':>10s}{'mem ratio':>11s}")  # fmt: skip
    for name in VARIANTS:
        print(f"{name:14s}{epoch[name]:9.2f}{epoch[name] / epoch['plain']:10.2f}"
              f"{epoch[name] / epoch['plain_fused']:10.2f}"
              f"{peak[name]:10.0f}{peak[name] / peak['plain']:11.2f}")  # fmt: skip
    print(
        f"b/a = {epoch['tensor'] / epoch['plain']:.2f}   "
        f"c/a = {epoch['torchvision'] / epoch['plain']:.2f}"
    )


def fake_cifar10() -> str:
    """CIFAR-10-shaped random data in the real pickle format (no real CIFAR-10 here)."""
    import pickle

    import numpy as np
    from torchvision.datasets import CIFAR10

    root = Path(tempfile.gettempdir()) / FAKE_CIFAR_NAME
    folder = root / CIFAR10.base_folder
    if not folder.is_dir():
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for name, _ in CIFAR10.train_list + CIFAR10.test_list:
            batch = {"data": rng.integers(0, 256, (10000, 3072), dtype=np.uint8),
                     "labels": rng.integers(0, 10, 10000).tolist()}  # fmt: skip
            (folder / name).write_bytes(pickle.dumps(batch))
        meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                "horse", "ship", "truck"]}  # fmt: skip
        (folder / CIFAR10.meta["filename"]).write_bytes(pickle.dumps(meta))
    return str(root)


def accept_checksums(root: Path) -> None:
    """Make torchvision accept the generated files' md5s, in this benchmark process only."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import calculate_md5

    folder = root / CIFAR10.base_folder
    CIFAR10.train_list = [[n, calculate_md5(str(folder / n))] for n, _ in CIFAR10.train_list]
    CIFAR10.test_list = [[n, calculate_md5(str(folder / n))] for n, _ in CIFAR10.test_list]
    name = CIFAR10.meta["filename"]
    CIFAR10.meta = {**CIFAR10.meta, "md5": calculate_md5(str(folder / name))}


if __name__ == "__main__":
    main()
