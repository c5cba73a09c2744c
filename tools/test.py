"""Evaluate a detector (by default the student of a distillation config) with mmdet's
evaluator: mmdet's tools/test.py plus mmkd.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--teacher] [--work-dir DIR]
                         [--out results.pkl] [--cfg-options KEY=VALUE ...]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: E402,F401  (registers mmkd and allow-lists checkpoint types)
from mmkd.checkpoint import check_checkpoint_file  # noqa: E402
from mmkd.config import is_distillation_config, load_config  # noqa: E402
from mmkd.engine import CheckpointGuardHook  # noqa: E402
from mmkd.runtime import setup_runtime  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (evaluate) a detector')
    parser.add_argument('config', help='test config file, or mmkd::<path> of a shipped config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--teacher', action='store_true',
                        help='evaluate the teacher of a distillation config instead of '
                        'the student')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump predictions to a pickle file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
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
    is_distillation = is_distillation_config(cfg.model)
    if args.teacher and not is_distillation:
        raise ValueError('--teacher needs a distillation config (model type '
                         f"mmkd.DistillationDetector), got model type {cfg.model.type!r}.")
    if is_distillation:
        # The checkpoint holds the teacher's weights too: nothing to fetch.
        cfg.model.teacher_ckpt = None
        cfg.model.eval_model = 'teacher' if args.teacher else 'student'
    if '://' not in args.checkpoint:
        check_checkpoint_file(args.checkpoint)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
            else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    setup_runtime(cfg)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(CheckpointGuardHook())  # a loaded non-checkpoint: a clear error
    runner.test()


if __name__ == '__main__':
    main()
