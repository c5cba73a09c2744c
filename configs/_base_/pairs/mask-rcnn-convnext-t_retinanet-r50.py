# Heterogeneous pair: Mask R-CNN ConvNeXt-T teacher (mmpretrain backbone, imported by the
# teacher config's custom_imports; mmdet zoo ms-crop-3x weights, 46.2 box AP on COCO val2017)
# -> RetinaNet ResNet-50 student (mmdet's retinanet_r50_fpn_1x_coco). The teacher's FPN gives
# P2..P6 (strides 4..64), the student's P3..P7 (8..128): 'neck' on both sides pairs the
# strides they share, P3..P6.
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/mask-rcnn-convnext-t_retinanet-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = '../../baselines/retinanet_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/convnext/'
    'mask_rcnn_convnext-t_p4_w7_fpn_fp16_ms-crop_3x_coco/'
    'mask_rcnn_convnext-t_p4_w7_fpn_fp16_ms-crop_3x_coco_20220426_154953-050731f4.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
