# Distillation pair: Faster R-CNN ResNet-50 teacher (mmdet zoo ms-3x weights,
# 40.3 box AP on COCO val2017) -> MobileNetV2 student (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/faster-rcnn_r50-mv2.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/faster-rcnn_mv2_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco_20210524_110822-e10bd31c.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
