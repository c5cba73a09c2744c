"""Every distillation method on every mmdet 3.3 detector family, one training step each on
generated data: which train, which are refused at build (and why), which fail
(experiments.family_matrix).

Usage:
    python tools/family_matrix.py [--families detr dino ...] [--methods FitNet KD ...]
        [--out-dir work_dirs/family_matrix]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.family_matrix import main  # noqa: E402

if __name__ == '__main__':
    main()
