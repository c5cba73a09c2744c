"""Each distiller's loss and its gradient at the student's neck outputs, against the
detection loss's, at a config's own weights over a few batches (experiments.loss_ratios).

Usage:
    python tools/loss_ratios.py CONFIG [CONFIG ...] [--batches 4] [--iter N]
        [--out ratios.json] [--cfg-options KEY=VALUE ...]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.errors import run_command  # noqa: E402
from experiments.loss_ratios import main  # noqa: E402

if __name__ == '__main__':
    run_command(main, 'tools/loss_ratios.py')
