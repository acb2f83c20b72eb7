"""Lightning callbacks of lightcnn: per-epoch log lines, per-epoch seeding, the NaN guard, the
per-epoch history for ``metrics.json``, the same configuration on every DDP rank, and figures
for TensorBoard. (The fine-tuning callback
belongs to the LightningModule: :mod:`lightcnn.lit.finetune`.)"""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.epoch_seed import EpochSeed
from lightcnn.callbacks.feature_maps import FeatureMaps
from lightcnn.callbacks.history import TrainingHistory
from lightcnn.callbacks.nan_guard import NonFiniteLossGuard
from lightcnn.callbacks.same_config import SameConfigOnEveryRank

__all__ = [
    "EpochLog",
    "EpochSeed",
    "FeatureMaps",
    "NonFiniteLossGuard",
    "SameConfigOnEveryRank",
    "TrainingHistory",
]
