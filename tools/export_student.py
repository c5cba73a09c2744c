"""Export the student of a distillation checkpoint as a plain mmdet detector.

Writes ``OUT_DIR/student.pth`` (the student's weights only: no teacher, no adapters or
fusion modules) and ``OUT_DIR/student_config.py`` (the student's mmdet config, with the
dataset/evaluation settings of CONFIG), so that plain mmdet loads it::

    from mmdet.apis import init_detector
    model = init_detector('OUT_DIR/student_config.py', 'OUT_DIR/student.pth')

The weights are checked first: the detector of the exported config is built and loads
them strictly, so a config of another architecture (missing, unexpected or
shape-mismatched keys, listed) is an error, never a detector with random weights.

Usage:
    python tools/export_student.py CONFIG CHECKPOINT OUT_DIR [--model teacher]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmkd.export import export_detector  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Export the student of a distillation run')
    parser.add_argument('config', help='the distillation config the checkpoint was trained with '
                        '(a file or mmkd::<path> of a shipped config)')
    parser.add_argument('checkpoint', help='distillation checkpoint (e.g. work_dirs/x/iter_N.pth)')
    parser.add_argument('out_dir', help='directory for <model>.pth and <model>_config.py')
    parser.add_argument('--model', choices=['student', 'teacher'], default='student',
                        help='which detector to export (teacher: e.g. after online distillation)')
    return parser.parse_args()


def main():
    args = parse_args()
    weights, config = export_detector(args.config, args.checkpoint, args.out_dir, args.model)
    print(f'Exported the {args.model} to {weights} and {config}')


if __name__ == '__main__':
    main()
