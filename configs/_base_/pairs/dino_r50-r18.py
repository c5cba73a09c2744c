# Distillation pair: DINO 4-scale ResNet-50 teacher (mmdet zoo 12-epoch weights, 49.0 box AP
# on COCO val2017) -> DINO 4-scale ResNet-18 student (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/dino_r50-r18.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/dino-4scale_r18_8xb2-12e_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v3.0/dino/'
    'dino-4scale_r50_8xb2-12e_coco/'
    'dino-4scale_r50_8xb2-12e_coco_20221202_182705-55b2bba2.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
