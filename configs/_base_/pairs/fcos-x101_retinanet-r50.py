# Distillation pair with different heads: FCOS ResNeXt-101-64x4d teacher (anchor-free, mmdet zoo
# ms-2x weights, 42.6 box AP on COCO val2017) -> RetinaNet ResNet-50 student (anchor-based,
# mmdet's retinanet_r50_fpn_1x_coco). Both FPNs give P3..P7 (strides 8..128) of 256 channels,
# so every feature distiller applies; KD does not (the heads score different priors).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/fcos-x101_retinanet-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/retinanet_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::fcos/fcos_x101-64x4d_fpn_gn-head_ms-640-800-2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/fcos/'
    'fcos_x101_64x4d_fpn_gn-head_mstrain_640-800_2x_coco/'
    'fcos_x101_64x4d_fpn_gn-head_mstrain_640-800_2x_coco-ede514a8.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
