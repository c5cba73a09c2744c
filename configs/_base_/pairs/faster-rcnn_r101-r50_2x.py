# Distillation pair: Faster R-CNN ResNet-101 2x teacher (mmdet zoo weights, 39.8 box AP on
# COCO val2017) -> ResNet-50 2x student (the baseline config below), PKD's published pair.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/faster-rcnn_r101-r50_2x.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/faster-rcnn_r50_fpn_2x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r101_fpn_2x_coco/'
    'faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
