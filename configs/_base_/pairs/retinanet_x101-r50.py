# Distillation pair: RetinaNet ResNeXt-101-64x4d teacher (mmdet zoo 2x weights, 40.8 box AP on
# COCO val2017) -> RetinaNet ResNet-50 student, 2x schedule (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/retinanet_x101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/retinanet_r50_fpn_2x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::retinanet/retinanet_x101-64x4d_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_x101_64x4d_fpn_2x_coco/'
    'retinanet_x101_64x4d_fpn_2x_coco_20200131-bca068ab.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
