"""Lightning callbacks of lightcnn: per-epoch log lines, per-epoch seeding, the NaN guard, the
per-epoch history for ``metrics.json``, the same configuration on every DDP rank, the predictions
of a test pass for the evaluation report, an Optuna trial's pruning, and TensorBoard: the
custom-scalars layout and the figure family (classification figures, first-layer filters,
feature maps). (The fine-tuning
callback belongs to the LightningModule: :mod:`lightcnn.lit.finetune`.)"""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.epoch_seed import EpochSeed
from lightcnn.callbacks.history import TrainingHistory
from lightcnn.callbacks.nan_guard import NonFiniteLossGuard
from lightcnn.callbacks.optuna_pruning import OptunaPruning
from lightcnn.callbacks.predictions import RecordPredictions
from lightcnn.callbacks.same_config import SameConfigOnEveryRank
from lightcnn.callbacks.tensorboard_figures import (
    ClassificationFigures,
    FeatureMaps,
    FirstLayerFilters,
    TensorBoardFigures,
)
from lightcnn.callbacks.tensorboard_layout import CustomScalarsLayout

__all__ = [
    "ClassificationFigures",
    "CustomScalarsLayout",
    "EpochLog",
    "EpochSeed",
    "FeatureMaps",
    "FirstLayerFilters",
    "NonFiniteLossGuard",
    "OptunaPruning",
    "RecordPredictions",
    "SameConfigOnEveryRank",
    "TensorBoardFigures",
    "TrainingHistory",
]
