# Distillation pair: FCOS ResNet-101 (caffe style) GN-head multi-scale 2x teacher (mmdet zoo
# weights, 40.8 box AP on COCO val2017) -> FCOS ResNet-50 caffe GN-head multi-scale 2x
# student (the baseline config below), CrossKD's FCOS pair. Both normalise caffe-style.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/fcos_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/fcos/'
    'fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco/'
    'fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco-511424d6.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
