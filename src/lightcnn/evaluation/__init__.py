"""Evaluation of a pass's predictions: metrics from torchmetrics (:mod:`.classification`), the
accumulated predictions (:mod:`.predictions`), the figures (:mod:`.figures`, :mod:`.curves`) and
the report folder (:mod:`.report`). No Lightning here."""
