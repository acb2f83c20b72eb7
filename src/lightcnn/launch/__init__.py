"""Running a job: one run alone, a job of a sweep, DDP ranks, joblib and SLURM jobs.

:mod:`.hydra_callbacks` checks a run before Hydra creates its directory and writes a sweep's
leaderboard; :mod:`.job` surrounds one job (failure records, the value a sweeper gets);
:mod:`.fit` trains, tests and writes the run directory, with the Trainer and its parts from
:mod:`.build`; :mod:`.distributed` and :mod:`.parallel` place a job's processes and devices;
:mod:`.console` and :mod:`.spawned_console` make every message appear once; :mod:`.hparams`
writes the run's TensorBoard HPARAMS entry. Lightning loads only with :mod:`.fit` and
:mod:`.build`, never before a config is checked.
"""
