"""A Hydra callback: the sweep report at the end of every multirun."""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    """Runs drsn-report on the sweep folder when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from drsn_fd.errors import DrsnError
        from drsn_fd.evaluate.report import make_report

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            log.info("%s", make_report([sweep_dir]))
        except DrsnError as e:
            log.warning("no sweep report: %s", e)
