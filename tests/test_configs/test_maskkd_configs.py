"""The MaskKD configs: zoo teachers of the same detector, the student baselines, and one
training step each."""
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import build_small, train_one_step

# config: (teacher config, student config, stages distilled)
CONFIGS = {
    'maskkd/mask-rcnn_r101-r50_fpn_1x_coco': (
        'mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco', 'mask-rcnn_r50_fpn_1x_coco', [None]),
    'maskkd/mask-rcnn_r101-r18_fpn_1x_coco': (
        'mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco', 'mask-rcnn_r18_fpn_1x_coco', [None]),
    'maskkd/cascade-mask-rcnn_r101-r50_fpn_1x_coco': (
        'cascade_rcnn/cascade-mask-rcnn_r101_fpn_ms-3x_coco', 'cascade-mask-rcnn_r50_fpn_1x_coco',
        [0, 1, 2]),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_maskkd_config_points_at_its_pair(configs_dir, name):
    teacher, student, _ = CONFIGS[name]
    raw = Config.fromfile(osp.join(configs_dir, name + '.py'))
    assert raw.model.teacher == f'mmdet::{teacher}.py'
    assert raw.model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/v2.0/')
    assert osp.basename(raw.model.teacher_ckpt).startswith(
        osp.basename(teacher).replace('-', '_').replace('ms_', 'mstrain_')
        .replace('mstrain_poly', 'mstrain-poly'))
    assert raw.train_cfg.max_epochs == 12
    baseline = Config.fromfile(osp.join(configs_dir, 'baselines', student + '.py'))
    assert raw.model.student.to_dict() == baseline.model.to_dict()


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_maskkd_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    model, data = build_small(osp.join(configs_dir, name + '.py'), shapes_data, tmp_path)
    assert model.distillers['maskkd'].stages == CONFIGS[name][2]
    distilled = train_one_step(model, data)
    assert distilled['distill_maskkd_loss'].item() > 0
