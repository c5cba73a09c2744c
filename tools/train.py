"""Train a detector, or distil one, from a config: mmdet's tools/train.py plus mmkd.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options KEY=VALUE ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

import mmkd  # noqa: E402,F401  (registers mmkd and allow-lists checkpoint types)
from mmkd.checkpoint import check_checkpoint_file  # noqa: E402
from mmkd.config import load_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train (distil) a detector')
    parser.add_argument('config', help='train config file, or mmkd::<path> of a shipped config')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or from the latest one in the '
                        'work dir when no path is given')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.teacher_ckpt=teacher.pth')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if cfg.get('load_from') and '://' not in cfg.load_from:
        check_checkpoint_file(cfg.load_from, '--resume checkpoint' if cfg.get('resume')
                              else 'load_from checkpoint')
    # mmkd's runner, as under mmdet's tools/train.py for the configs that name it: it adds
    # the reliability hooks (exact resume, no checkpoint with non-finite weights, data
    # and class checks) and the runtime set-up. A config's own runner_type is kept.
    cfg.setdefault('runner_type', 'mmkd.DistillationRunner')
    RUNNERS.build(cfg).train()


if __name__ == '__main__':
    main()
