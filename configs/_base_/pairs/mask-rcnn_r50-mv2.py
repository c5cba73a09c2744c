# Distillation pair: Mask R-CNN ResNet-50 teacher (mmdet zoo ms-poly-3x weights,
# 40.9 box / 37.1 mask AP on COCO val2017) -> MobileNetV2 student (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/mask-rcnn_r50-mv2.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/mask-rcnn_mv2_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::mask_rcnn/mask-rcnn_r50_fpn_ms-poly-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
    'mask_rcnn_r50_fpn_mstrain-poly_3x_coco/'
    'mask_rcnn_r50_fpn_mstrain-poly_3x_coco_20210524_201154-21b550bb.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
