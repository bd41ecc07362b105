"""The model side's floor: what the stages ``train``, ``evaluate``, ``stream``, ``tune`` and
``baselines`` share, so that none of them imports another.

Batches and padding (``batches``, ``prefetch``,
``dataset``), the training loop (``loop``,
``replica``, ``display``), checkpoint I/O
(``checkpoints``), scoring a trained run
([`scoring`][dltrigger.ml.scoring]), the metrics and trigger rates
([`metrics`][dltrigger.ml.metrics], [`rates`][dltrigger.ml.rates]) and the figures
([`plots`][dltrigger.ml.plots]). Nothing here imports a stage package (nor ``pipeline`` or ``cli``);
this package imports none of its modules, so ``import dltrigger.ml`` loads no torch.
"""
