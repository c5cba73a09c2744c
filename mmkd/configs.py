"""mmkd's shipped configs, for a user's own mmdet project: list them, or copy one in.

mmengine reads a config's ``_base_`` before any plugin is imported and takes
``package::path`` only for the OpenMMLab packages it knows, so a project config cannot
write ``_base_ = 'mmkd::...'``. Instead a shipped config is copied into the project as one
standalone file (every ``_base_`` resolved, as ``mim download --config`` does) that the
project's configs inherit with a relative ``_base_``::

    python -m mmkd.configs list reviewkd
    python -m mmkd.configs copy mmkd::reviewkd/faster-rcnn_r101-r18_fpn_1x_coco.py configs/

    # configs/my_reviewkd.py
    _base_ = './faster-rcnn_r101-r18_fpn_1x_coco.py'
    model = dict(teacher_ckpt='checkpoints/my_teacher.pth')

The copy pins the method's settings in the project (a later mmkd release does not change a
running experiment) and needs nothing but mmdet and mmkd installed to load.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import Config

from .config import package_configs_dir, resolve_config_path


def shipped_configs(pattern: str = '') -> List[str]:
    """``mmkd::<relative path>`` of every shipped config whose path contains ``pattern``."""
    root = package_configs_dir('mmkd')
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders.sort()
        for name in sorted(files):
            if name.endswith('.py'):
                relative = osp.relpath(osp.join(folder, name), root).replace(os.sep, '/')
                if pattern in relative:
                    found.append(f'mmkd::{relative}')
    return found


def standalone_config(config: str) -> str:
    """The text of ``config`` (a file or ``mmkd::<relative path>``) as one file, with its
    whole ``_base_`` chain (mmkd's and mmdet's configs) resolved into plain values."""
    cfg = Config.fromfile(resolve_config_path(config))
    header = (f'# Standalone copy of {config}, written by `python -m mmkd.configs copy`: its\n'
              '# _base_ configs are resolved into this file. Inherit it from your configs\n'
              "# (_base_ = './<this file>') and override there.\n")
    return header + cfg.pretty_text


def copy_config(config: str, destination: str, overwrite: bool = False) -> str:
    """Write :func:`standalone_config` of ``config`` to ``destination`` (a file, or an
    existing folder that gets the config's file name); return the written path."""
    if osp.isdir(destination):
        destination = osp.join(destination, osp.basename(config.split('::')[-1]))
    if osp.exists(destination) and not overwrite:
        raise FileExistsError(f'{destination} exists: remove it or pass --overwrite.')
    text = standalone_config(config)
    os.makedirs(osp.dirname(osp.abspath(destination)), exist_ok=True)
    with open(destination, 'w') as f:
        f.write(text)
    return destination


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m mmkd.configs',
        description="mmkd's shipped configs: list them, or copy one into your project as a "
        'standalone file your configs can inherit (_base_).')
    commands = parser.add_subparsers(dest='command', required=True)
    listing = commands.add_parser('list', help='print the shipped configs (mmkd::<path>)')
    listing.add_argument('pattern', nargs='?', default='',
                         help='only paths containing this text, e.g. reviewkd/ or mask-rcnn')
    copying = commands.add_parser('copy', help='write a standalone copy of a config')
    copying.add_argument('config', help='mmkd::<relative path> (or a config file)')
    copying.add_argument('destination', help='file to write, or an existing folder')
    copying.add_argument('--overwrite', action='store_true',
                         help='replace the destination file if it exists')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.command == 'list':
        configs = shipped_configs(args.pattern)
        if not configs:
            sys.exit(f"No shipped config path contains '{args.pattern}'.")
        print('\n'.join(configs))
    else:
        print(copy_config(args.config, args.destination, args.overwrite))


if __name__ == '__main__':
    main()
