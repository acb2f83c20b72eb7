"""User-facing errors: raised for bad input, printed as one clear message without a traceback."""


class LightcnnError(Exception):
    """Base class for errors caused by the user's input (config, files, checkpoints)."""


class ConfigError(LightcnnError, ValueError):
    """A config value is wrong: the message names the key, the value and what is allowed."""


class DataError(LightcnnError):
    """A dataset is missing or malformed: the message names the path and what was expected."""


class CheckpointError(LightcnnError):
    """A checkpoint or weights file is missing, corrupt, or holds more than tensors."""


class NonFiniteLossError(LightcnnError):
    """The training loss became NaN or infinite."""


class WeightsError(LightcnnError):
    """Pretrained weights are missing or do not fit the model: the message names the file."""
