"""Pretrain a demo detector's backbone with mmpretrain (object-crop classification), the
demo's stand-in for ImageNet weights; prints the checkpoint the detector configs of
configs/demo/pretrained/ load.

Usage:
    python tools/pretrain_backbone.py configs/demo/pretrain/resnet18-quarter.py
        [--work-dir DIR] [--cfg-options KEY=VALUE ...] [--retrain] [--threads N]

The crops are cut from the config's crop_data source (a shapes set of its own, generated
first with its source_data settings) into its data_root; a finished run with the same
settings is reused. tools/demo.py --pretrained runs this itself.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from experiments.errors import run_command  # noqa: E402
from experiments.machine import hide_pkg_resources_warning  # noqa: E402
from experiments.pretrain import pretrain_backbone  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a config of configs/demo/pretrain/')
    parser.add_argument('--work-dir', help="where the run goes (default: the config's)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--retrain', action='store_true',
                        help='train even if a finished run with the same settings exists')
    parser.add_argument('--threads', type=int, help='CPU threads of the training process')
    parser.add_argument('--verbose', action='store_true', help="show the Runner's full log")
    return parser.parse_args()


def main():
    hide_pkg_resources_warning()
    args = parse_args()
    record = pretrain_backbone(args.config, args.work_dir, args.cfg_options,
                               retrain=args.retrain, threads=args.threads,
                               verbose=args.verbose)
    crops = record['crops']
    print(f"{'Reused' if record['reused'] else 'Trained'}: {record['iters']} iterations in "
          f"{record['seconds']:.0f} s, top-1 accuracy {record['accuracy']:.1f}% on "
          f"{crops['num_val']} held-out crops ({crops['num_train']} train crops of "
          f"{', '.join(crops['classes'])}).\nCheckpoint: {record['checkpoint']}")


if __name__ == '__main__':
    run_command(main, 'tools/pretrain_backbone.py')
