"""Running a job: what every entry point shares.

Builders of the data, model, trainer, loggers and callbacks from a composed config
(:mod:`~lightcnn.runtime.builders`), fit + test (:mod:`~lightcnn.runtime.fit`), the run directory
(:mod:`~lightcnn.runtime.run_dir`, :mod:`~lightcnn.runtime.resume`), checkpoint files
(:mod:`~lightcnn.runtime.checkpoint_io`), the console (:mod:`~lightcnn.runtime.console`) and the
Hydra callback that checks a job before its directory exists. Lightning loads only in the
modules that run a job, never before a config is checked.
"""
