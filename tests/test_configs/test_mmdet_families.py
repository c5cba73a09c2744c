"""Every mmdet 3.3 detector family distils through a full run: a distillation config of
an mmdet student and teacher, made a small CPU run by ``mmkd.testing.small_run_config``,
trains one step with ``mmkd.DistillationRunner`` and logs a finite distillation loss.

The families are those of the query-based detectors (DETR and its successors), the
instance-segmentation heads outside ``roi_head`` (RTMDet-Ins, SOLOv2, CondInst,
MaskFormer, Mask2Former), YOLO/SSD-style one-stage detectors with their own pipelines and
hooks, the sampler-free cascades (Sparse R-CNN, QueryInst) and the other dense heads."""
import math
from typing import Union

import pytest
from mmengine.config import Config
from mmengine.registry import RUNNERS

from mmkd.config import resolve_config_path
from mmkd.testing import small_run_config

R18_FPN = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
R18_C5 = dict(backbone=dict(depth=18), neck=dict(in_channels=[512]))  # one-level DETRs
R18_C3_C5 = dict(backbone=dict(depth=18), neck=dict(in_channels=[128, 256, 512]))
R18_PIXEL_DECODER = dict(backbone=dict(depth=18),
                         panoptic_head=dict(in_channels=[64, 128, 256, 512]))

# Hourglass-52: one of Hourglass-104's two stacks. The hourglass halves the stem's
# 1/4-scale map five times, so 128 px is its smallest input.
HOURGLASS52 = dict(backbone=dict(num_stacks=1), bbox_head=dict(num_feat_levels=1))


def family(teacher: str, student: Union[str, dict], features: Union[str, tuple] = 'neck',
           image_size: int = 64) -> dict:
    """A teacher-student pair distilled by FitNet on ``features`` (one spec for both, or
    the student's and the teacher's) at ``image_size``. A student given as a dict is the
    teacher's config with those overrides (a ResNet-18 where mmdet ships no smaller
    config of the family)."""
    if isinstance(student, dict):
        student = dict(cfg_path=teacher, **student)
    if isinstance(features, str):
        features = (features, features)
    return dict(teacher=teacher, student=student, features=features, image_size=image_size)


FAMILIES = {
    'detr': family('mmdet::detr/detr_r50_8xb2-150e_coco.py',
                   'mmdet::detr/detr_r18_8xb2-500e_coco.py'),
    'deformable-detr': family(
        'mmdet::deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
        R18_C3_C5),
    'conditional-detr': family('mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py',
                               R18_C5),
    'dab-detr': family('mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py', R18_C5),
    'dino': family('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', R18_C3_C5),
    'ddq-detr': family('mmdet::ddq/ddq-detr-4scale_r50_8xb2-12e_coco.py', R18_C3_C5),
    'rtmdet-ins': family('mmdet::rtmdet/rtmdet-ins_s_8xb32-300e_coco.py',
                         'mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py'),
    'solov2': family('mmdet::solov2/solov2_r50_fpn_1x_coco.py',
                     'mmdet::solov2/solov2-light_r18_fpn_ms-3x_coco.py'),
    'condinst': family('mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py',
                       R18_FPN),
    'mask2former': family('mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py',
                          R18_PIXEL_DECODER, features='backbone'),
    'maskformer': family('mmdet::maskformer/maskformer_r50_ms-16xb1-75e_coco.py',
                         R18_PIXEL_DECODER, features='backbone'),
    'yolov3': family('mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py',
                     'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'),
    # SSD300's last levels are unpadded 3x3 convs (300 px in, 3x3 and 1x1 out); the two
    # necks share the strides 16, 32 and 64.
    'ssd': family('mmdet::ssd/ssd300_coco.py',
                  'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
                  features=('neck[:3]', 'neck[1:4]'), image_size=300),
    'yolox': family('mmdet::yolox/yolox_s_8xb8-300e_coco.py',
                    'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py'),
    'sparse-rcnn': family('mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py', R18_FPN),
    'queryinst': family('mmdet::queryinst/queryinst_r50_fpn_1x_coco.py', R18_FPN),
    'tood': family('mmdet::tood/tood_r50_fpn_1x_coco.py', R18_FPN),
    'vfnet': family('mmdet::vfnet/vfnet_r50_fpn_1x_coco.py', R18_FPN),
    'centernet-update': family(
        'mmdet::centernet/centernet-update_r50-caffe_fpn_ms-1x_coco.py',
        'mmdet::centernet/centernet-update_r18_fpn_8xb8-amp-lsj-200e_coco.py'),
    'cornernet': family('mmdet::cornernet/cornernet_hourglass104_8xb6-210e-mstest_coco.py',
                        HOURGLASS52, features=('backbone', 'backbone[1:]'), image_size=128),
}


def family_config(name: str) -> Config:
    """The family's distillation config as a user writes it: the student's config file
    (its runtime settings, hooks, data preprocessor) with the model replaced by the
    distillation host of the pair."""
    pair = FAMILIES[name]
    student = pair['student']
    cfg = Config.fromfile(resolve_config_path(
        student if isinstance(student, str) else student['cfg_path']))
    student_feature, teacher_feature = pair['features']
    cfg.model = dict(type='mmkd.DistillationDetector', student=student,
                     teacher=pair['teacher'],
                     distillers=dict(fitnet=dict(type='FitNet', student=student_feature,
                                                 teacher=teacher_feature)))
    cfg.runner_type = 'mmkd.DistillationRunner'
    return cfg


@pytest.mark.parametrize('name', list(FAMILIES))
def test_family_distils_one_step(name, shapes_data, tmp_path):
    cfg = small_run_config(family_config(name), shapes_data, str(tmp_path), max_iters=1,
                           image_size=FAMILIES[name]['image_size'])
    # The step is under test, not saving both detectors (Hourglass-104's take seconds).
    cfg.default_hooks.checkpoint = None
    runner = RUNNERS.build(cfg)
    runner.train()
    assert runner.iter == 1
    logged = runner.message_hub.get_scalar('train/distill_fitnet_loss').current()
    assert math.isfinite(logged) and logged > 0
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())


def test_small_run_config_adapts_each_family(shapes_data, tmp_path):
    """The rules behind the runs above, read off the configs: masks loaded for every
    head trained on them, query counts and query-based cascades capped, panoptic heads
    made instance heads of the dataset's classes, YOLOX's dataset hook dropped."""
    def small(name):
        return small_run_config(family_config(name), shapes_data, str(tmp_path))

    def loads_masks(cfg):
        load = next(t for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'LoadAnnotations')
        return load['with_mask']

    for name in ('rtmdet-ins', 'solov2', 'condinst', 'mask2former', 'queryinst'):
        assert loads_masks(small(name)), name
    dino = small('dino')
    assert not loads_masks(dino)
    assert dino.model.student.num_queries == dino.model.teacher.num_queries == 20
    assert dino.model.student.dn_cfg.group_cfg.num_dn_queries == 20
    queryinst = small('queryinst').model.student
    assert queryinst.rpn_head.num_proposals == 20
    assert queryinst.roi_head.num_stages == len(queryinst.roi_head.stage_loss_weights) == 3
    assert len(queryinst.roi_head.bbox_head) == len(queryinst.roi_head.mask_head) == 3
    assert len(queryinst.train_cfg.rcnn) == 3
    mask2former = small('mask2former').model.student
    head = mask2former.panoptic_head
    assert (head.num_things_classes, head.num_stuff_classes, head.num_queries) == (3, 0, 20)
    assert head.loss_cls.class_weight == [1.0, 1.0, 1.0, 0.1]
    assert mask2former.panoptic_fusion_head.num_things_classes == 3
    hooks = [hook['type'] for hook in small('yolox').custom_hooks]
    assert hooks == ['SyncNormHook', 'EMAHook']  # YOLOXModeSwitchHook needs its dataset
