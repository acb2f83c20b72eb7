"""What a user waits for: ``python -m lightcnn.train`` against a plain PyTorch script doing
the same work (benchmarks/plain_train.py), whole processes, interleaved.

Each repeat runs both variants once, alternating which goes first, each as a fresh process:

- **lightcnn**: ``python -m lightcnn.train`` with the default experiment (the LeNet-5 recipe)
  and ``trainer.max_epochs=E``: fit with per-epoch validation, best + last checkpoints,
  TensorBoard, then validation and test of the best checkpoint, metrics.json;
- **plain**: ``python benchmarks/plain_train.py --epochs E``: the same data split,
  augmentation, network, optimizer, schedule, batch size, validation, checkpoints and test.

Per variant it reports the medians over repeats of:

- the whole process, timed from outside (start-up, imports, data, every epoch, test), and its
  CPU time (``wait4``'s user + system seconds: the time the machine's other tenants take, which
  moves the wall time, hardly moves it);
- the seconds from the process start to the end of the first epoch (start-up and one epoch);
- one epoch (training + validation + checkpoints): the differences between the
  seconds-since-start each process records at the end of its epochs, the first epoch left out
  (it also pays for first-call warm-ups);
- the time to 99% validation accuracy: seconds from the process start to the end of the first
  epoch that reached it (what a user waits for to get a usable model);
- the peak resident memory (``wait4``'s ``ru_maxrss``);

and the ratios lightcnn / plain, of the medians and of each interleaved pair (a pair ran
minutes apart: its ratio moves less with the drift). The machine drifts by 20-40% within
minutes: only the ratios of interleaved runs mean anything.

``--baseline DIR`` adds a third variant, **baseline**: ``python -m lightcnn.train`` from another
checkout (e.g. ``git worktree add ../before <commit>``), run with ``PYTHONPATH=DIR/src`` by the
same interpreter, so a change is measured before and after in one interleaved invocation.
``--baseline-overrides "..."`` gives the baseline its own Hydra overrides (with or without
``--baseline``: this checkout), e.g. the previous default recipe against the new one.

    LIGHTCNN_DATA_DIR=../shared/datasets python benchmarks/whole_run.py --repeats 3 --epochs 4
    python benchmarks/whole_run.py --baseline ../before --repeats 3 --epochs 4
    python benchmarks/whole_run.py --epochs 6 \
        --baseline-overrides "experiment=lenet5_mnist_v1 trainer.max_epochs=12"
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the validation accuracy whose first epoch is timed ("time to 99%")
TARGET_VAL_ACC = 0.99


def run(command: list[str], out: Path, env: dict[str, str] | None = None) -> dict:
    """Run one variant to completion; its wall time, peak memory and recorded epochs."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    result = json.loads(
        (out / ("metrics.json" if "lightcnn.train" in command else "result.json")).read_text()
    )
    ends = [entry["elapsed_s"] for entry in result["history"]]
    reached = [e["elapsed_s"] for e in result["history"] if e["val/acc"] >= TARGET_VAL_ACC]
    return {
        "wall_s": wall,
        # user + system seconds of the process and its threads: hardly moved by the time the
        # machine's other tenants take (steal), unlike the wall time
        "cpu_s": usage.ru_utime + usage.ru_stime,
        # seconds from the process start to the end of the first epoch: start-up + one epoch
        "first_epoch_s": ends[0],
        "epoch_s": statistics.median(b - a for a, b in itertools.pairwise(ends)),
        # seconds from the process start to the end of the first epoch at the target
        "to_target_s": reached[0] if reached else float("nan"),
        "peak_mib": usage.ru_maxrss / 1024,
        "test_acc": result["test/acc"],
    }


def commands(variant: str, args: argparse.Namespace, out: Path) -> list[str]:
    if variant == "plain":
        return [
            sys.executable,
            str(HERE / "plain_train.py"),
            f"--data-dir={args.data_dir}",
            f"--epochs={args.epochs}",
            f"--seed={args.seed}",
            f"--val-size={args.val_size}",
            f"--out={out}",
            *(f"--{flag.replace('_', '-')}={getattr(args, flag)}" for flag in recipe(args)),
        ]
    return [
        sys.executable,
        "-m",
        "lightcnn.train",
        f"paths.data_dir={args.data_dir}",
        f"trainer.max_epochs={args.epochs}",
        f"seed={args.seed}",
        f"data.val_size={args.val_size}",
        f"hydra.run.dir={out}",
        *(f"{RECIPE_KEYS[flag]}={getattr(args, flag)}" for flag in recipe(args)),
        *args.overrides,
        *(shlex.split(args.baseline_overrides) if variant == "baseline" else []),
    ]


#: the recipe flags both variants take, and the lightcnn config key of each
RECIPE_KEYS = {
    "batch_size": "data.batch_size",
    "eval_batch_size": "data.eval_batch_size",
    "lr": "model.lr",
}


def recipe(args: argparse.Namespace) -> list[str]:
    """The recipe flags given on the command line (the others: both variants' defaults)."""
    return [flag for flag in RECIPE_KEYS if getattr(args, flag) is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("LIGHTCNN_DATA_DIR", "data"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--val-size", type=int, default=5000, help="held-out training images")
    parser.add_argument("--batch-size", type=int, help="both variants (default: their default)")
    parser.add_argument("--eval-batch-size", type=int, help="both variants")
    parser.add_argument("--lr", type=float, help="the one-cycle peak, both variants")
    parser.add_argument("--baseline", type=Path, help="another checkout, run as a third variant")
    parser.add_argument("--baseline-overrides", default="", help="the baseline's own overrides")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the lightcnn run")
    args = parser.parse_args()
    if args.baseline_overrides and not args.baseline:
        args.baseline = HERE.parent
    variants: tuple[str, ...] = ("lightcnn", "plain") + (("baseline",) if args.baseline else ())
    baseline_env = None
    if args.baseline:
        source = args.baseline.resolve() / "src"
        baseline_env = {
            **os.environ,
            "PYTHONPATH": f"{source}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        }
    results: dict[str, list[dict]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="lightcnn-whole-run-") as tmp:
        for repeat in range(args.repeats):
            order = variants if repeat % 2 == 0 else variants[::-1]
            for variant in order:
                out = Path(tmp) / f"{variant}-{repeat}"
                env = baseline_env if variant == "baseline" else None
                measured = run(commands(variant, args, out), out, env)
                results[variant].append(measured)
                print(
                    f"repeat {repeat + 1} {variant:8s} whole {measured['wall_s']:6.1f} s  "
                    f"cpu {measured['cpu_s']:6.1f} s  "
                    f"first epoch {measured['first_epoch_s']:5.1f} s  "
                    f"epoch {measured['epoch_s']:5.2f} s  to {TARGET_VAL_ACC:.0%} "
                    f"{measured['to_target_s']:5.1f} s  peak {measured['peak_mib']:6.0f} MiB  "
                    f"test/acc {measured['test_acc']:.4f}",
                    flush=True,
                )
    median = {
        v: {k: statistics.median(r[k] for r in results[v]) for k in results[v][0]} for v in variants
    }
    print(f"\nmedians of {args.repeats} interleaved repeats, {args.epochs} epochs each")
    base = args.baseline is not None
    print(
        "| what | lightcnn | plain | ratio |"
        + (" baseline | lightcnn / baseline |" if base else "")
    )
    print("| --- | --- | --- | --- |" + (" --- | --- |" if base else ""))
    for key, label, unit in (
        ("epoch_s", "one epoch (train + validation + checkpoints)", "s"),
        ("wall_s", "whole process", "s"),
        ("cpu_s", "whole process, CPU time (user + system)", "s"),
        ("first_epoch_s", "process start to the end of the first epoch", "s"),
        ("to_target_s", f"time to {TARGET_VAL_ACC:.0%} validation accuracy", "s"),
        ("peak_mib", "peak memory", "MiB"),
        ("test_acc", "test accuracy", ""),
    ):
        a, b = median["lightcnn"][key], median["plain"][key]
        row = f"| {label} | {a:.4g} {unit} | {b:.4g} {unit} | {a / b:.2f} |"
        if base:
            c = median["baseline"][key]
            row += f" {c:.4g} {unit} | {a / c:.2f} |"
        print(row)
    for key, label in (("epoch_s", "epoch"), ("wall_s", "whole")):
        for other in ("plain", "baseline") if base else ("plain",):
            pairs = zip(results["lightcnn"], results[other], strict=True)
            ratios = ", ".join(f"{a[key] / b[key]:.2f}" for a, b in pairs)
            print(f"per-repeat {label} ratios lightcnn / {other}: {ratios}")


if __name__ == "__main__":
    main()
