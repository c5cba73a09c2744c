# Distillation pair: GFL ResNet-101 teacher (mmdet zoo ms-2x weights, 44.7 box AP on COCO
# val2017) -> GFL ResNet-50 student, 1x schedule (mmdet's gfl_r50_fpn_1x_coco).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/gfl_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/gfl_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/gfl/'
    'gfl_r101_fpn_mstrain_2x_coco/'
    'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
