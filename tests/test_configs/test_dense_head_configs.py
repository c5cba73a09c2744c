"""The BCKD and LD configs: the published setting (teacher, student, schedule, loss
weights) and one training step each at 64 px."""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.testing import small_run_config

ZOO = 'https://download.openmmlab.com/mmdetection/v2.0/'
# config: (distiller type, teacher config, student head, epochs)
CONFIGS = {
    'bckd/gfl_r101-r50_fpn_1x_coco': ('BCKD', 'gfl/gfl_r101_fpn_ms-2x_coco', 'GFLHead', 12),
    'bckd/retinanet_r101-r50_fpn_2x_coco': ('BCKD', 'retinanet/retinanet_r101_fpn_2x_coco',
                                            'RetinaHead', 24),
    'bckd/atss_r101-r50_fpn_1x_coco': ('BCKD', 'atss/atss_r101_fpn_1x_coco', 'ATSSHead', 12),
    'bckd/fcos_r101-r50_fpn_gn-head_ms-640-800-2x_coco': (
        'BCKD', 'fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco', 'FCOSHead', 24),
    'ld/gfl_r101-r50_fpn_1x_coco': ('LD', 'gfl/gfl_r101_fpn_ms-2x_coco', 'GFLHead', 12),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_points_at_the_published_setting(configs_dir, name):
    kind, teacher, head, epochs = CONFIGS[name]
    cfg = Config.fromfile(osp.join(configs_dir, name + '.py'))
    (distiller, ), = [list(cfg.model.distillers.values())]
    assert distiller.type == kind and distiller.teacher == 'neck'
    assert cfg.model.teacher == f'mmdet::{teacher}.py'
    assert cfg.model.teacher_ckpt.startswith(ZOO + teacher.split('/')[0] + '/')
    assert cfg.model.student.bbox_head.type == head
    assert cfg.model.student.backbone.depth == 50
    assert cfg.train_cfg.max_epochs == epochs
    if kind == 'BCKD':
        assert (distiller.loss_cls.beta, distiller.loss_cls.loss_weight) == (1.0, 1.0)
        assert (distiller.loss_box.mode, distiller.loss_box.loss_weight) == ('giou', 4.0)
    else:
        assert (distiller.loss.temperature, distiller.loss.bin_reduction,
                distiller.loss.loss_weight) == (10.0, 'mean', 0.25)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    cfg = small_run_config(osp.join(configs_dir, name + '.py'), shapes_data, str(tmp_path),
                           max_iters=1, image_size=64)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/distill_')}
    assert len(logged) == (2 if name.startswith('bckd') else 1), logged
    assert all(math.isfinite(v) and v > 0 for v in logged.values()), logged
