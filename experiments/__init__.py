"""The repository's demo and benchmark harness (``tools/demo.py``, ``tools/benchmark.py``
and ``tools/pretrain_backbone.py`` are its command lines); not part of the installed
``mmkd`` package, which never imports it.

* :mod:`.catalog`   detector families and methods, found from the configs present;
* :mod:`.settings`  what the demo sets beyond its configs (data, pretrained regime);
* :mod:`.data`      the generated shapes dataset, or a user's COCO-format folder;
* :mod:`.overrides` config changes: schedule length, automatic loss weights, dataset
                    paths and classes;
* :mod:`.stages`    one ``tools/train.py`` run per stage, in a subprocess, cached;
* :mod:`.logs`      what a finished run logged (COCO metrics, loss curves, timing);
* :mod:`.results`   statistics over seeds, the markdown table and report;
* :mod:`.plots`     the AP bars and loss curves;
* :mod:`.machine`   machine description and quiet subprocess environments;
* :mod:`.pretrain`  backbone pretraining with mmpretrain (the demo's ImageNet weights);
* :mod:`.regime`    the demo's pretrained regime: stages started from those backbones;
* :mod:`.demo`      the teacher / baseline / distilled-students comparison;
* :mod:`.cost`, :mod:`.benchmark`  the training-step cost of each method.

It runs from a source checkout: configs and tools are read from the repository that holds
this package (the tools put its root on ``sys.path``; training runs are
``python tools/train.py`` subprocesses).
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
