"""The CrossKD configs: the published setting (teacher, student, schedule, cross point,
PKD weight) and one training step each at 64 px."""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.testing import small_run_config

ZOO = 'https://download.openmmlab.com/mmdetection/v2.0/'
# config: (teacher config, student head, epochs, student_convs, PKD weight or None)
CONFIGS = {
    'crosskd/gfl_r101-r50_fpn_1x_coco': ('gfl/gfl_r101_fpn_ms-2x_coco', 'GFLHead', 12, 3, None),
    'crosskd/retinanet_r101-r50_fpn_2x_coco': ('retinanet/retinanet_r101_fpn_2x_coco',
                                               'RetinaHead', 24, 3, None),
    'crosskd/atss_r101-r50_fpn_1x_coco': ('atss/atss_r101_fpn_1x_coco', 'ATSSHead', 12, 3, None),
    'crosskd/fcos_r101-r50_fpn_gn-head_ms-640-800-2x_coco': (
        'fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco', 'FCOSHead', 24, 2, None),
    'crosskd/gfl_r101-r50_crosskd-pkd_fpn_1x_coco': ('gfl/gfl_r101_fpn_ms-2x_coco', 'GFLHead',
                                                     12, 3, 6.0),
}
LOSSES = {'GFLHead': 2, 'RetinaHead': 2, 'ATSSHead': 3, 'FCOSHead': 2}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_points_at_the_published_setting(configs_dir, name):
    teacher, head, epochs, student_convs, pkd_weight = CONFIGS[name]
    cfg = Config.fromfile(osp.join(configs_dir, name + '.py'))
    distillers = cfg.model.distillers
    assert set(distillers) == ({'crosskd', 'pkd'} if pkd_weight else {'crosskd'})
    crosskd = distillers.crosskd
    assert crosskd.type == 'CrossKD' and crosskd.teacher == 'neck'
    assert crosskd.student_convs == student_convs
    assert not crosskd.get('channel_adapter', False)
    if pkd_weight:
        pkd = distillers.pkd
        assert (pkd.type, pkd.student, pkd.teacher) == ('PKD', 'neck', 'neck')
        assert pkd.loss.loss_weight == pkd_weight
    assert cfg.model.teacher == f'mmdet::{teacher}.py'
    assert cfg.model.teacher_ckpt.startswith(ZOO + teacher.split('/')[0] + '/')
    student = cfg.model.student
    assert student.bbox_head.type == head and student.bbox_head.stacked_convs == 4
    assert student.backbone.depth == 50
    assert cfg.train_cfg.max_epochs == epochs


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    """small_run_config keeps one stacked conv per head branch; here both heads keep one
    more than the cross point needs, so the teacher has a conv after it."""
    cfg = small_run_config(osp.join(configs_dir, name + '.py'), shapes_data, str(tmp_path),
                           max_iters=1, image_size=64)
    for detector in (cfg.model.student, cfg.model.teacher):
        detector.bbox_head.stacked_convs = cfg.model.distillers.crosskd.student_convs + 1
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/distill_')}
    head, pkd = CONFIGS[name][1], CONFIGS[name][4]
    assert len(logged) == LOSSES[head] + bool(pkd), logged
    assert all(math.isfinite(v) and v > 0 for v in logged.values()), logged
