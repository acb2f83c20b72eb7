"""Start-up of the default run, part by part: from the process start to the first training batch.

Each repeat is a fresh process that goes through the steps of ``python -m lightcnn.train`` in
order and times each one with ``time.perf_counter``; the table gives the medians over repeats.
The first row is the interpreter itself (``python -c pass``, timed from outside); the plain
script's own start-up (``import torch, torchvision`` and reading MNIST) is measured the same
way, for reference.

    LIGHTCNN_DATA_DIR=../shared/datasets python benchmarks/startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: run in a fresh process: each step of the default run's start-up, in order
STEPS = r"""
import json, sys, time
clock = [time.perf_counter()]
times = {}
def step(name):
    now = time.perf_counter(); times[name] = now - clock[0]; clock[0] = now
from lightcnn.core import collector
collector.pause_if_main("__main__")  # as the command line: no collections during the imports
import torch, torchvision
step("import torch, torchvision (the plain script pays it too)")
import lightcnn.train
step("import lightcnn.train (Hydra, OmegaConf, config checks, data)")
import lightcnn.launch.fit
step("import lightcnn.launch.fit (Lightning, torchmetrics, matplotlib, TensorBoard)")
from lightcnn.config.compose import compose_run
from lightcnn.config.validation import check_train_config
overrides = [f"paths.data_dir={sys.argv[1]}", "trainer.max_epochs=1", *sys.argv[3:]]
cfg = compose_run(overrides, run_dir=sys.argv[2])
step("Hydra composition of conf/train.yaml")
check_train_config(cfg)
collector.resume()  # where train() resumes the collector
step("config checks")
import lightning as L
from lightcnn.launch.build import build_data_and_model, build_trainer
L.seed_everything(cfg.seed)
datamodule, model = build_data_and_model(cfg)
datamodule.setup("fit")
step("data module (MNIST read, split) and model")
class FirstBatch(L.Callback):
    def on_train_start(self, trainer, pl_module):
        step("trainer.fit up to training: summary with FLOPs, sanity check, filters figure")
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        raise KeyboardInterrupt  # Lightning stops the fit gracefully
trainer, _ = build_trainer(cfg, extra_callbacks=[FirstBatch()])
step("trainer, callbacks and loggers")
try:
    trainer.fit(model, datamodule=datamodule)
except SystemExit:
    pass
print(json.dumps(times))
"""

PLAIN = r"""
import json, sys, time
start = time.perf_counter()
import torch, torchvision
from torchvision.datasets import MNIST
imported = time.perf_counter()
MNIST(sys.argv[1], train=True), MNIST(sys.argv[1], train=False)
print(json.dumps({"import": imported - start, "data": time.perf_counter() - imported}))
"""


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return time.perf_counter() - start, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("LIGHTCNN_DATA_DIR", "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the lightcnn run")
    args = parser.parse_args()
    steps: dict[str, list[float]] = {}
    plain: dict[str, list[float]] = {"interpreter": [], "import": [], "data": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="lightcnn-startup-") as run_dir:
            _, out = timed([sys.executable, "-c", STEPS, args.data_dir, run_dir, *args.overrides])
        for name, seconds in json.loads(out).items():
            steps.setdefault(name, []).append(seconds)
        plain["interpreter"].append(timed([sys.executable, "-c", "pass"])[0])
        _, out = timed([sys.executable, "-c", PLAIN, args.data_dir])
        for name, seconds in json.loads(out).items():
            plain[name].append(seconds)
    interpreter = statistics.median(plain["interpreter"])
    print(f"medians of {args.repeats} fresh processes\n")
    print("| step of `python -m lightcnn.train` | seconds |")
    print("| --- | --- |")
    print(f"| interpreter start (`python -c pass`) | {interpreter:.2f} |")
    total = interpreter
    for name, values in steps.items():
        total += statistics.median(values)
        print(f"| {name} | {statistics.median(values):.2f} |")
    print(f"| **to the first training batch** | **{total:.2f}** |")
    own = interpreter + statistics.median(plain["import"]) + statistics.median(plain["data"])
    print(f"| the plain script to its first batch (interpreter, imports, MNIST) | {own:.2f} |")


if __name__ == "__main__":
    main()
