"""Lightning callbacks of lightcnn."""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.epoch_seed import EpochSeed
from lightcnn.callbacks.feature_maps import FeatureMaps
from lightcnn.callbacks.finetune import FinetunePolicy
from lightcnn.callbacks.history import TrainingHistory
from lightcnn.callbacks.nan_guard import NonFiniteLossGuard

__all__ = [
    "EpochLog",
    "EpochSeed",
    "FeatureMaps",
    "FinetunePolicy",
    "NonFiniteLossGuard",
    "TrainingHistory",
]
