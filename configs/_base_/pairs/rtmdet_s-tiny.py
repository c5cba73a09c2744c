# Distillation pair: RTMDet-s teacher (mmdet zoo weights, 44.5 box AP on COCO val2017) ->
# RTMDet-tiny student (mmdet's rtmdet_tiny_8xb32-300e_coco: its pipeline, 300-epoch schedule
# and EMA/pipeline-switch hooks). Neck channels: teacher 128, student 96.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/rtmdet_s-tiny.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/'
    'rtmdet_s_8xb32-300e_coco/'
    'rtmdet_s_8xb32-300e_coco_20220905_161602-387a891e.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
