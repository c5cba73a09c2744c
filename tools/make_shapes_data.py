"""Write the generated shapes dataset a config trains on (COCO format, boxes + masks).

The dataset settings come from the config's ``shapes_data`` dict and its ``data_root``
(configs/demo/_base_/shapes_detection.py), so ``python tools/train.py configs/demo/X.py``
finds exactly the data this writes. An existing dataset with the same settings is reused.

Usage:
    python tools/make_shapes_data.py [CONFIG] [--out DIR] [--num-train N] [--num-val N]
                                     [--seed S]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from experiments.data import SHAPES_CONFIG, make_shapes_data, shapes_settings  # noqa: E402
from experiments.errors import run_command  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=SHAPES_CONFIG,
                        help='a config whose data to write (default: the demo data)')
    parser.add_argument('--out', help='write here instead of the config\'s data_root')
    parser.add_argument('--num-train', type=int, help='override the number of train images')
    parser.add_argument('--num-val', type=int, help='override the number of val images')
    parser.add_argument('--seed', type=int, help='override the dataset seed')
    args = parser.parse_args(argv)
    settings = shapes_settings(args.config)
    for key in ('num_train', 'num_val', 'seed'):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.out:
        settings['data_root'] = args.out
    data = make_shapes_data(**settings)
    print(f"shapes dataset in {data['data_root']}: {settings['num_train']} train / "
          f"{settings['num_val']} val images of {settings['image_size']} px, seed "
          f"{settings['seed']}, classes {', '.join(data['classes'])}")
    return data


if __name__ == '__main__':
    run_command(main, 'tools/make_shapes_data.py')
