# Distillation pair: RetinaNet ResNeXt-101 64x4d 1x teacher (mmdet zoo weights, 41.0 box AP
# on COCO val2017) -> ResNet-50 2x student (the baseline config below), the pair of the
# published PKD, MGD and FGD RetinaNet results (retinanet_x101-r50.py has the 2x teacher).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/retinanet_x101_1x-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/retinanet_r50_fpn_2x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_x101_64x4d_fpn_1x_coco/'
    'retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
