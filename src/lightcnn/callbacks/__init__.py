"""Lightning callbacks of lightcnn."""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.epoch_seed import EpochSeed
from lightcnn.callbacks.finetune import FinetunePolicy
from lightcnn.callbacks.nan_guard import NonFiniteLossGuard

__all__ = ["EpochLog", "EpochSeed", "FinetunePolicy", "NonFiniteLossGuard"]
