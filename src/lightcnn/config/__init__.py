"""Configuration: where ``conf/`` is, its resolver, and the checks a composed config passes
before anything is created. Nothing here imports Lightning, so a typo is reported in seconds."""

from lightcnn.config.location import CONF_DIR, project_root

__all__ = ["CONF_DIR", "project_root"]
