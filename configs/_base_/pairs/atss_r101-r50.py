# Distillation pair: ATSS ResNet-101 1x teacher (mmdet zoo weights, 41.5 box AP on COCO
# val2017) -> ATSS ResNet-50 1x student (the baseline config below), CrossKD's ATSS pair.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/atss_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/atss_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::atss/atss_r101_fpn_1x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/atss/'
    'atss_r101_fpn_1x_coco/atss_r101_fpn_1x_20200825-dfcadd6f.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
