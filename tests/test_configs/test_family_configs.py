"""The configs of the one-stage, anchor-free, cascade and heterogeneous pairs: each trains a
step and points at a zoo teacher."""
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import build_small, train_one_step

CONFIGS = ['reviewkd/retinanet_r101-r18_fpn_1x_coco.py', 'fgfi/retinanet_r101-r18_fpn_1x_coco.py',
           'fitnet/retinanet_r101-r18_fpn_1x_coco.py', 'kd/retinanet_r101-r18_fpn_1x_coco.py',
           'reviewkd/retinanet_x101-r50_fpn_2x_coco.py',
           'fitnet/fcos-x101_retinanet-r50_fpn_1x_coco.py', 'kd/gfl_r101-r50_fpn_1x_coco.py',
           'fgfi/rtmdet_s-tiny_8xb32-300e_coco.py', 'kd/cascade-rcnn_r101-r50_fpn_1x_coco.py',
           'reviewkd/mask-rcnn-convnext-t_retinanet-r50_fpn_1x_coco.py']


@pytest.mark.parametrize('config', CONFIGS)
def test_family_config_trains_one_step(config, configs_dir, shapes_data, tmp_path):
    model, data = build_small(osp.join(configs_dir, config), shapes_data, tmp_path)
    train_one_step(model, data)
    if 'convnext' in config:  # the mmpretrain backbone from the teacher's custom_imports
        assert type(model.teacher.backbone).__module__.startswith('mmpretrain.')


def test_family_configs_point_at_zoo_teachers(configs_dir):
    for config in CONFIGS:
        model = Config.fromfile(osp.join(configs_dir, config)).model
        assert model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/')
        assert model.teacher.startswith('mmdet::')
