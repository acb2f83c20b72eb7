"""Model summary entry point: ``python -m lightcnn.summary [overrides]`` or ``lightcnn-summary``.

Takes the same overrides as ``lightcnn.train`` (``model=...``, ``data=...``,
``model.padding=same``), builds the model for the data's input and prints, per layer, its
output shape, parameters, multiply-adds and receptive field, with totals at the bottom.
``checkpoint=<file.ckpt>`` summarises a checkpoint's network instead, rebuilt from it alone.
Nothing is trained, read or written.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from lightcnn.config import CONF_DIR
from lightcnn.config.validation import model_arguments
from lightcnn.core.errors import EXIT_USER_ERROR, report, user_error_in
from lightcnn.inspection.model_summary import render, summarize
from lightcnn.models import InputSpec, network_name
from lightcnn.models.custom import configured_target, trusting
from lightcnn.rundir.checkpoints import Checkpoint


def print_summary(cfg: DictConfig, console: Console) -> None:
    """Build the configured model for its data's input and print its layer table.

    Args:
        cfg: the composed ``summary`` config (``train``'s groups).
        console: where to print.
    """
    from hydra.utils import instantiate

    if cfg.get("checkpoint"):  # a checkpoint's network, rebuilt from the checkpoint alone
        checkpoint = Checkpoint(cfg.checkpoint, trust=cfg.get("net_target"))
        spec = checkpoint.requirement()
        module = checkpoint.model(spec)
        name = network_name(checkpoint.hparams)
    else:
        model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
        given = model_arguments(model_cfg, OmegaConf.to_container(cfg.data, resolve=True))
        spec = InputSpec.from_dict(given["input"])
        with trusting(configured_target(model_cfg)):  # the config names it: the user's choice
            module = instantiate(cfg.model, **given, _convert_="all")
        name = network_name(model_cfg)
    summary = summarize(module.net, (spec.in_channels, spec.image_size, spec.image_size))
    console.print(render(summary))
    console.print(
        f"{name}: feature maps " + " → ".join(map(str, summary.spatial_sizes())),
        highlight=False,
    )
    console.print(
        f"parameters: {summary.params:,} ({summary.trainable_params:,} trainable) · "
        f"multiply-adds per image: {summary.macs:,}",
        highlight=False,
    )


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="summary")
def main(cfg: DictConfig) -> None:
    # Off a terminal rich would fit the table into 80 columns and cut numbers short.
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        print_summary(cfg, console)
    except Exception as error:
        user_error = user_error_in(error)  # Hydra wraps errors raised while instantiating
        if user_error is None:
            raise
        report(user_error)
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":
    main()
