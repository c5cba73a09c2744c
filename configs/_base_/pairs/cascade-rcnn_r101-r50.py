# Distillation pair: Cascade R-CNN ResNet-101 teacher (mmdet zoo 20e weights, 42.5 box AP on
# COCO val2017) -> Cascade R-CNN ResNet-50 student, 1x (mmdet's cascade-rcnn_r50_fpn_1x_coco).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/cascade-rcnn_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/cascade-rcnn_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_20e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/'
    'cascade_rcnn_r101_fpn_20e_coco/'
    'cascade_rcnn_r101_fpn_20e_coco_bbox_mAP-0.425_20200504_231812-5057dcc5.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
