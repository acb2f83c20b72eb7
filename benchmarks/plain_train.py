"""The default lightcnn run, written as a plain PyTorch script: the reference of whole_run.py.

It does the work of ``python -m lightcnn.train`` (the LeNet-5 recipe) without lightcnn,
Lightning or Hydra, the way a careful engineer would write it by hand:

- MNIST read with torchvision; the same 55,000 / 5,000 split, seeded the same way;
- LeNet-5 (conv 6@5×5, ReLU, max-pool, conv 16@5×5, ReLU, max-pool, 120, 84, 10);
- AdamW (fused), one-cycle with peak ``--lr`` over the whole run (pct_start 0.25),
  weight decay 1e-4, label smoothing 0.1, training batches of ``--batch-size``, evaluation
  batches of ``--eval-batch-size`` (the defaults are lightcnn's: a test keeps them equal);
- each epoch: a random translation of every training image by up to 2 pixels (zero padding),
  normalisation, the training steps, then validation on the 5,000 held-out images, and two
  checkpoints (the last, and the best on validation accuracy) with the optimizer and scheduler
  state;
- at the end, the best weights are validated and tested on the official 10,000 test images.

It writes ``result.json`` (per-epoch seconds since the process started, accuracies) into
``--out``. It imports nothing from lightcnn.

    python benchmarks/plain_train.py --data-dir ../shared/datasets --epochs 12 --out /tmp/plain
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

START = time.time()  # close to the process start: the imports below count, as for lightcnn

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.datasets import MNIST  # noqa: E402

MEAN, STD = 0.1307, 0.3081
#: lightcnn's default recipe (conf/): tests/test_benchmark.py keeps these equal to it
EPOCHS, BATCH_SIZE, EVAL_BATCH_SIZE, PEAK_LR = 6, 256, 1000, 0.012


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120),
        nn.ReLU(inplace=True),
        nn.Linear(120, 84),
        nn.ReLU(inplace=True),
        nn.Linear(84, 10),
    )


def translate(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Each image shifted by up to ``padding`` pixels: zero-pad, crop at a random offset."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,))
    dx = torch.randint(0, 2 * padding + 1, (n,))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]


@torch.no_grad()
def evaluate(
    net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    net.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = (images[start : start + batch_size].float() / 255 - MEAN) / STD
        y = labels[start : start + batch_size]
        logits = net(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    net.train()
    return loss / len(labels), correct / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--eval-batch-size", type=int, default=EVAL_BATCH_SIZE)
    parser.add_argument("--lr", type=float, default=PEAK_LR, help="the one-cycle peak")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--val-size", type=int, default=5000, help="held-out training images")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(args.seed)
    train_split = MNIST(args.data_dir, train=True)
    test_split = MNIST(args.data_dir, train=False)
    count = len(train_split)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(args.seed))
    val_idx, train_idx = order[: args.val_size], order[args.val_size :]
    images = train_split.data.unsqueeze(1)
    train_x, train_y = images[train_idx], train_split.targets[train_idx]
    val_x, val_y = images[val_idx], train_split.targets[val_idx]
    test_x, test_y = test_split.data.unsqueeze(1), test_split.targets

    net = lenet5()
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4, fused=True)
    batch = args.batch_size
    steps_per_epoch = -(-len(train_y) // batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=steps_per_epoch * args.epochs, pct_start=0.25
    )
    history, best_acc = [], -1.0
    for epoch in range(args.epochs):
        permutation = torch.randperm(len(train_y))
        for start in range(0, len(train_y), batch):
            index = permutation[start : start + batch]
            x = translate(train_x[index].float() / 255, 2)
            loss = F.cross_entropy(net((x - MEAN) / STD), train_y[index], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        val_loss, val_acc = evaluate(net, val_x, val_y, args.eval_batch_size)
        state = {
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": epoch,
        }
        torch.save(state, out / "last.pt")
        if val_acc > best_acc:
            best_acc = val_acc
            torch.save(state, out / "best.pt")
        history.append({"epoch": epoch + 1, "elapsed_s": time.time() - START, "val/acc": val_acc})
        print(f"epoch {epoch + 1}/{args.epochs} val/loss={val_loss:.4f} val/acc={val_acc:.4f}")
    net.load_state_dict(torch.load(out / "best.pt", weights_only=True)["model"])
    val_loss, val_acc = evaluate(net, val_x, val_y, args.eval_batch_size)
    _, test_acc = evaluate(net, test_x, test_y, args.eval_batch_size)
    result = {"history": history, "val/acc": val_acc, "test/acc": test_acc}
    result["wall_time_s"] = time.time() - START
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(f"test/acc={test_acc:.4f} ({result['wall_time_s']:.1f} s, pid {os.getpid()})")


if __name__ == "__main__":
    main()
