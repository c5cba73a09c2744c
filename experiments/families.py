"""mmdet 3.3 detector families as teacher-student pairs of ``mmdet::`` configs, written as
a user writes a distillation config (the student's own config with its ``model`` replaced by
the distillation host): the pairs the suite trains one step each
(``tests/test_configs/test_mmdet_families.py``) and ``tools/family_matrix.py`` tries every
method on.

The families are those of the query-based detectors (DETR and its successors), the
instance-segmentation heads outside ``roi_head`` (RTMDet-Ins, SOLOv2, CondInst,
MaskFormer, Mask2Former), YOLO/SSD-style one-stage detectors with their own pipelines and
hooks, the sampler-free cascades (Sparse R-CNN, QueryInst) and the other dense heads."""
from typing import Optional, Union

from mmengine.config import Config

from mmkd.config import resolve_config_path

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


#: The families mmkd was first built on; the suite trains each method on them in
#: tests/test_models/test_distillers/, so these pairs serve tools/family_matrix.py only.
CORE_FAMILIES = {
    'faster-rcnn': family('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', R18_FPN),
    'mask-rcnn': family('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', R18_FPN),
    'cascade-rcnn': family('mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', R18_FPN),
    'cascade-mask-rcnn': family('mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
                                R18_FPN),
    'retinanet': family('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', R18_FPN),
    'atss': family('mmdet::atss/atss_r50_fpn_1x_coco.py', R18_FPN),
    'gfl': family('mmdet::gfl/gfl_r50_fpn_1x_coco.py', R18_FPN),
    'fcos': family('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', R18_FPN),
    'rtmdet': family('mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py',
                     'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'),
}
ALL_FAMILIES = {**CORE_FAMILIES, **FAMILIES}


def family_config(name: str, distillers: Optional[dict] = None) -> Config:
    """The family's distillation config as a user writes it: the student's config file
    (its runtime settings, hooks, data preprocessor) with the model replaced by the
    distillation host of the pair; ``distillers`` default to FitNet on the family's
    features (:func:`fitnet`)."""
    pair = ALL_FAMILIES[name]
    student = pair['student']
    cfg = Config.fromfile(resolve_config_path(
        student if isinstance(student, str) else student['cfg_path']))
    cfg.model = dict(type='mmkd.DistillationDetector', student=student,
                     teacher=pair['teacher'],
                     distillers=fitnet(name) if distillers is None else distillers)
    cfg.runner_type = 'mmkd.DistillationRunner'
    return cfg


def fitnet(name: str) -> dict:
    """FitNet on the features the family's pair distils."""
    student_feature, teacher_feature = ALL_FAMILIES[name]['features']
    return dict(fitnet=dict(type='FitNet', student=student_feature, teacher=teacher_feature))
