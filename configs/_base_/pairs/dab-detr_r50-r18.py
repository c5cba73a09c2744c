# Distillation pair: DAB-DETR ResNet-50 teacher (mmdet zoo 50-epoch weights, 42.3 box AP on
# COCO val2017) -> DAB-DETR ResNet-18 student (the baseline config below).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/dab-detr_r50-r18.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/dab-detr_r18_8xb2-50e_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v3.0/dab_detr/'
    'dab-detr_r50_8xb2-50e_coco/dab-detr_r50_8xb2-50e_coco_20221122_120837-c1035c8c.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
