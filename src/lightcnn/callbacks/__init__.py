"""Lightning callbacks of lightcnn."""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.finetune import FinetunePolicy

__all__ = ["EpochLog", "FinetunePolicy"]
