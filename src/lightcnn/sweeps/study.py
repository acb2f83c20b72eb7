"""An Optuna search's study: where it is stored, and a sweep job's own trial.

A study lives in a storage that outlasts the sweep: by default an SQLite file in the sweep
folder (``optuna.db``), so the same command with the same ``hydra.sweep.dir`` continues it;
``hydra.sweeper.storage=<URL>`` names a database several workers share (``sqlite:///...``,
``postgresql://...``), or a path without ``://`` names a journal file (Optuna's
``JournalFileBackend``, for workers on one machine or on a shared file system).

A job of the sweep reaches its trial by number (``hydra.sweeper.trial``, set by the sweeper
for each job) through Optuna's public storage API, so it can report its validation accuracy
after each epoch and learn whether the pruner stops it, in whatever process or machine a
launcher runs it. Optuna is imported on first use: a single run never loads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightcnn.core.errors import ConfigError
from lightcnn.rundir.layout import STUDY_FILE

if TYPE_CHECKING:
    import optuna

SQLITE_TIMEOUT_S = 60  # two workers (and their jobs) writing one SQLite file wait for its lock
SCHEMA_RACE_ATTEMPTS = 10  # each attempt after a lost race finds one more table made


def require_optuna() -> Any:
    """``import optuna``, or one clear line saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "hparams_search= and hydra/sweeper=optuna need Optuna: install the sweeps extra "
            "(pip install 'lightcnn[sweeps]', or make install)"
        ) from None
    return optuna


def storage_location(storage: str | None, sweep_dir: Path) -> str:
    """The study's storage as given (a URL or a journal file), or the sweep folder's SQLite file.

    Args:
        storage: ``hydra.sweeper.storage`` (null: the default file in the sweep folder).
        sweep_dir: the sweep's folder.
    """
    if storage:
        return str(storage)
    return f"sqlite:///{(Path(sweep_dir) / STUDY_FILE).resolve()}"


def study_name(name: str | None, sweep_dir: Path) -> str:
    """``hydra.sweeper.study_name``, else the sweep folder's name."""
    return str(name) if name else Path(sweep_dir).resolve().name


def open_storage(location: str) -> optuna.storages.BaseStorage:
    """The storage object of a URL (an RDB) or a file path (a journal).

    Args:
        location: what :func:`storage_location` returned.
    """
    optuna = require_optuna()
    if "://" not in location:
        backend = optuna.storages.journal.JournalFileBackend(str(Path(location).resolve()))
        return optuna.storages.JournalStorage(backend)
    from sqlalchemy.exc import ArgumentError, OperationalError

    engine: dict[str, Any] = {}
    if location.startswith("sqlite:"):
        engine["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    try:
        return _create_rdb_storage(optuna, location, engine)
    except (ArgumentError, OperationalError) as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
        raise ConfigError(
            f"hydra.sweeper.storage={redact(location)} cannot be opened ({reason}); give a "
            "database URL (sqlite:////abs/path/optuna.db, postgresql://user@host/db), a "
            "journal file path, or null (optuna.db in the sweep folder)"
        ) from None


def _create_rdb_storage(optuna: Any, location: str, engine: dict[str, Any]) -> Any:
    """``RDBStorage(location)``, opened again when another worker created its tables first.

    Workers that open one new database at once each check which tables exist, then create
    them (SQLAlchemy's ``create_all``: sqlalchemy/sqlalchemy#4936); the slower one fails with
    "table ... already exists" or a duplicate key. Opening again finds those tables made.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for _ in range(SCHEMA_RACE_ATTEMPTS - 1):
        try:
            return optuna.storages.RDBStorage(location, engine_kwargs=engine)
        except (IntegrityError, OperationalError, ProgrammingError) as error:
            if not (isinstance(error, IntegrityError) or "already exists" in str(error)):
                raise
    return optuna.storages.RDBStorage(location, engine_kwargs=engine)


def dashboard_command(location: str) -> str:
    """The command that opens the study in optuna-dashboard (a password in a URL hidden)."""
    return f"optuna-dashboard {redact(location)}"


def redact(location: str) -> str:
    """A storage URL without its password (``postgresql://user:***@host/db``)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", location)


def load_job_trial(sweeper: Any, sweep_dir: Path, pruner: Any) -> optuna.trial.Trial:
    """The trial a sweep job runs, loaded from the study's storage.

    Args:
        sweeper: the job's ``hydra.sweeper`` config (``trial``, ``storage``, ``study_name``).
        sweep_dir: the sweep's folder.
        pruner: the study's pruner (``hydra.sweeper.pruner``, instantiated): a trial asks it
            whether to stop.
    """
    optuna = require_optuna()
    storage = open_storage(storage_location(sweeper.storage, sweep_dir))
    name = study_name(sweeper.study_name, sweep_dir)
    study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
    study_id = storage.get_study_id_from_name(name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, int(sweeper.trial))
    return optuna.trial.Trial(study, trial_id)
