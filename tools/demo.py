"""End-to-end distillation demo on the CPU: a teacher, a student baseline and distilled
students trained with tools/train.py on the configs in configs/demo/, on generated shapes
data or on your own COCO-format dataset, compared on one table (experiments.demo).

Usage:
    python tools/demo.py [--quick] [--detector faster-rcnn|mask-rcnn|...] [--mask]
                         [--methods baseline reviewkd fgfi ... | all] [--seeds 0 1 2]
                         [--iters N] [--work-dir DIR] [--threads N] [--pretrained]
                         [--weights config|auto|both] [--vary METHOD:KEY=V1,V2 ...]
    python tools/demo.py --dataset DIR [--iters N] ...   # your COCO-format data
                                                         # (automatic loss weights)
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.demo import main  # noqa: E402
from experiments.errors import run_command  # noqa: E402

if __name__ == '__main__':
    run_command(main, 'tools/demo.py')
