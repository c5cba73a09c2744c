"""The PKD, CWD, MGD and FGD configs: the published setting (teacher, schedule,
initialisation) and one training step each."""
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.testing import small_run_config

# config: (distiller type, teacher config, teacher AP in mmdet's metafile, init from teacher)
CONFIGS = {
    'pkd/faster-rcnn_r101-r50_fpn_2x_coco': ('PKD', 'faster-rcnn_r101_fpn_2x_coco', ()),
    'pkd/retinanet_x101-r50_fpn_2x_coco': ('PKD', 'retinanet_x101-64x4d_fpn_1x_coco', ()),
    'pkd/faster-rcnn_r101-r18_fpn_1x_coco': ('PKD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'cwd/retinanet_r101-r50_fpn_1x_coco': ('CWD', 'retinanet_r101_fpn_2x_coco', ()),
    'cwd/faster-rcnn_r101-r50_fpn_1x_coco': ('CWD', 'faster-rcnn_r101_fpn_2x_coco', ()),
    'cwd/faster-rcnn_r101-r18_fpn_1x_coco': ('CWD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'mgd/retinanet_x101-r50_fpn_2x_coco': ('MGD', 'retinanet_x101-64x4d_fpn_1x_coco',
                                           ('neck', 'bbox_head')),
    'mgd/faster-rcnn_r101-r18_fpn_1x_coco': ('MGD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'fgd/retinanet_x101-r50_fpn_2x_coco': ('FGD', 'retinanet_x101-64x4d_fpn_1x_coco',
                                           ('neck', 'bbox_head')),
    'fgd/faster-rcnn_r101-r50_fpn_2x_coco': ('FGD', 'faster-rcnn_r101_fpn_2x_coco',
                                             ('neck', 'rpn_head', 'roi_head')),
    'fgd/faster-rcnn_r101-r18_fpn_1x_coco': ('FGD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_points_at_the_published_setting(configs_dir, name):
    kind, teacher, parts = CONFIGS[name]
    cfg = Config.fromfile(osp.join(configs_dir, name + '.py'))
    (distiller, ), = [list(cfg.model.distillers.values())]
    assert distiller.type == kind
    assert cfg.model.teacher.endswith(teacher + '.py')
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/v2.0/')
    assert tuple(cfg.model.get('init_student_from_teacher', ())) == parts
    student = cfg.model.student
    assert ('retinanet' in name) == (student.type == 'RetinaNet')
    assert student.backbone.depth == (18 if 'r18' in name else 50)
    schedule = 24 if '_2x_' in name else 12
    assert cfg.train_cfg.max_epochs == schedule


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    cfg = small_run_config(osp.join(configs_dir, name + '.py'), shapes_data, str(tmp_path),
                           max_iters=1, image_size=64)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/distill_')}
    assert logged and all(math.isfinite(v) and v > 0 for v in logged.values()), logged
