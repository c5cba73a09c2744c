# Distillation pair: Cascade Mask R-CNN ResNet-101 teacher (mmdet zoo ms-3x weights,
# 45.5 box / 39.6 mask AP on COCO val2017) -> Cascade Mask R-CNN ResNet-50 student, 1x
# (mmdet's cascade-mask-rcnn_r50_fpn_1x_coco).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/cascade-mask-rcnn_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::cascade_rcnn/cascade-mask-rcnn_r101_fpn_ms-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/'
    'cascade_mask_rcnn_r101_fpn_mstrain_3x_coco/'
    'cascade_mask_rcnn_r101_fpn_mstrain_3x_coco_20210628_165236-51a2d363.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
