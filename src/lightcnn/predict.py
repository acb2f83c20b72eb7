"""Prediction entry point: ``python -m lightcnn.predict ckpt_path=PATH inputs=FILE_OR_DIR_OR_GLOB
[topk=3]`` or ``lightcnn-predict``.

Classifies image files (PNG, JPEG, BMP, ... any size, colour or grey) with the checkpoint's own
evaluation preprocessing, prints a table and writes ``predictions.csv`` and ``predictions.json``.
A file that cannot be read gets one error line and the others are still classified. Exit status:
0 when every file was classified, 1 when some could not be read, 2 on any other error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from lightcnn.config import CONF_DIR
from lightcnn.errors import EXIT_USER_ERROR, LightcnnError, report
from lightcnn.runtime.run_dir import discard_unused_run_dir

#: exit status when some files could not be read (the others were classified)
EXIT_SOME_FAILED = 1


def predict(cfg: DictConfig) -> list:
    """Classify the input files: :func:`lightcnn.runtime.predict.predict`.

    Args:
        cfg: the composed ``predict`` config.
    """
    from lightcnn.runtime.predict import predict as run  # Lightning loads here

    return run(cfg)


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
