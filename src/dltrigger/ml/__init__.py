"""The model side's floor: what the stages ``train``, ``evaluate``, ``stream``, ``tune`` and
``baselines`` share, so that none of them imports another.

Batches and padding (:mod:`.batches`, :mod:`.prefetch`, :mod:`.dataset`), the training loop
(:mod:`.loop`, :mod:`.replica`, :mod:`.display`), checkpoint I/O (:mod:`.checkpoints`), scoring
a trained run (:mod:`.scoring`), the metrics and trigger rates (:mod:`.metrics`,
:mod:`.rates`) and the figures (:mod:`.plots`). Nothing here imports a stage package (nor
``pipeline`` or ``cli``); this package imports none of its modules, so ``import dltrigger.ml``
loads no torch.
"""
