"""Lightning callbacks of lightcnn."""

from lightcnn.callbacks.epoch_log import EpochLog
from lightcnn.callbacks.feature_maps import FeatureMaps

__all__ = ["EpochLog", "FeatureMaps"]
