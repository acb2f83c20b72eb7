"""Lightning callbacks of lightcnn."""

from lightcnn.callbacks.epoch_log import EpochLog

__all__ = ["EpochLog"]
