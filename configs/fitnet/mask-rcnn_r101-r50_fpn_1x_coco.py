# FitNet: Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-50 (student) on
# FPN P2..P6: a 1x1 adapter conv on each student level, MSE to the teacher's level.
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
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
