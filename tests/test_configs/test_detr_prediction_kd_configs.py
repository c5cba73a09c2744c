"""The DETRPredictionKD configs: the pair each names, and one training step each (by hand:
the Runner's config dump costs seconds here, and the pair bases are those of every method)."""
import math
import os.path as osp

import pytest
from mmengine.config import Config

from mmkd.testing import small_run_config

from helpers import build, train_one_step

# config: (student type, student depth, teacher config, teacher depth, epochs)
CONFIGS = {
    'dab-detr_r50-r18_8xb2-50e_coco': ('DABDETR', 18, 'dab_detr/dab-detr_r50_8xb2-50e_coco', 50,
                                       50),
    'dino-4scale_r50-r18_8xb2-12e_coco': ('DINO', 18, 'dino/dino-4scale_r50_8xb2-12e_coco', 50,
                                          12),
    'deformable-detr-refine-twostage_r101-r50_16xb2-50e_coco': (
        'DeformableDETR', 50,
        'deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco', 101, 50),
}


def config_path(configs_dir, name):
    return osp.join(configs_dir, 'detr_prediction_kd', name + '.py')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_names_its_pair(configs_dir, name):
    student_type, student_depth, teacher, teacher_depth, epochs = CONFIGS[name]
    cfg = Config.fromfile(config_path(configs_dir, name))
    (distiller, ), = [list(cfg.model.distillers.values())]
    assert distiller.type == 'DETRPredictionKD'
    student = cfg.model.student
    assert (student.type, student.backbone.depth) == (student_type, student_depth)
    path = cfg.model.teacher if isinstance(cfg.model.teacher, str) else cfg.model.teacher.cfg_path
    assert path == f'mmdet::{teacher}.py'
    assert teacher_depth == (50 if isinstance(cfg.model.teacher, str)
                             else cfg.model.teacher.backbone.depth)
    zoo = cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/v3.0/')
    assert zoo == (teacher_depth == 50)  # no mmdet weights for the ResNet-101 teacher
    assert cfg.train_cfg.max_epochs == epochs


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    cfg = small_run_config(config_path(configs_dir, name), shapes_data, str(tmp_path),
                           max_iters=1, image_size=64)
    model, batch = build(cfg)
    model.train()
    distill = train_one_step(model, model.data_preprocessor(batch, True))
    assert sorted(distill) == ['distill_detr_kd_loss_bbox', 'distill_detr_kd_loss_cls',
                               'distill_detr_kd_loss_iou']
    assert all(math.isfinite(v) for v in distill.values())
    # Freshly initialised box heads predict the points they are given, so only the class
    # term is away from zero at the first step.
    assert distill['distill_detr_kd_loss_cls'] > 0
