"""tools/test.py: evaluates the student and, with --teacher, the teacher."""
import os.path as osp
import subprocess
import sys

from helpers import ROOT, run_tool


def test_test_cli_evaluates_student_and_teacher(trained):
    student = run_tool('tools/test.py', trained['config'], trained['checkpoint'],
                       '--work-dir', trained['work_dir'])
    teacher = run_tool('tools/test.py', trained['config'], trained['checkpoint'], '--teacher',
                       '--work-dir', trained['work_dir'])
    assert 'coco/bbox_mAP' in student and 'coco/bbox_mAP' in teacher


def test_test_cli_teacher_flag_needs_a_distillation_config(configs_dir, trained):
    result = subprocess.run(
        [sys.executable, 'tools/test.py',
         osp.join(configs_dir, 'baselines/faster-rcnn_r18_fpn_1x_coco.py'),
         trained['checkpoint'], '--teacher'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and '--teacher needs a distillation config' in result.stderr
