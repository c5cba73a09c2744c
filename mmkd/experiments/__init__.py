"""The demo and the benchmarks as a small library (``tools/demo.py`` and
``tools/benchmark.py`` are their command lines).

* :mod:`.catalog`   detector families and methods, found from the configs present;
* :mod:`.data`      the generated shapes dataset, or a user's COCO-format folder;
* :mod:`.overrides` config changes: schedule length, dataset paths and classes;
* :mod:`.stages`    one ``tools/train.py`` run per stage, in a subprocess, cached;
* :mod:`.logs`      what a finished run logged (COCO metrics, loss curves, timing);
* :mod:`.results`   statistics over seeds, the markdown table and report;
* :mod:`.plots`     the AP bars and loss curves;
* :mod:`.machine`   machine description and quiet subprocess environments;
* :mod:`.pretrain`  backbone pretraining with mmpretrain (the demo's ImageNet weights);
* :mod:`.regime`    the demo's pretrained regime: stages started from those backbones;
* :mod:`.demo`      the teacher / baseline / distilled-students comparison;
* :mod:`.cost`, :mod:`.benchmark`  the training-step cost of each method.

Paths are those of a source checkout: configs and tools are read from the repository
that holds this package.
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
