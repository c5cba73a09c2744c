# Distillation pair: Mask R-CNN ResNet-101 teacher (mmdet zoo ms-poly-3x weights,
# 42.7 box / 38.5 mask AP on COCO val2017) -> ResNet-18 student (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/mask-rcnn_r101-r18.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/mask-rcnn_r18_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco_20210524_200244-5675c317.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
