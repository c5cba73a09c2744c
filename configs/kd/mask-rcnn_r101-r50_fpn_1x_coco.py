# KD (Hinton et al., 2015): Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-50
# (student). The teacher's box head scores the student's sampled RoIs; KL between the
# temperature-softened class distributions (background included), times T^2.
# T=1 and weight 1.0 are untuned defaults (the paper gives no KD hyper-parameters).
# Compare with the student baseline ../baselines/mask-rcnn_r50_fpn_1x_coco.py (same schedule).
_base_ = '../baselines/mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco_20210524_200244-5675c317.pth',
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
