# Distillation pair: RetinaNet ResNet-101 2x teacher (mmdet zoo weights, 38.9 box AP on
# COCO val2017) -> ResNet-50 2x student (the baseline config below), CrossKD's RetinaNet
# pair.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/retinanet_r101-r50_2x.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/retinanet_r50_fpn_2x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_r101_fpn_2x_coco/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
