# FitNet: Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-18 (student) on
# FPN P2..P6: a 1x1 adapter conv on each student level, MSE to the teacher's level.
# Compare with the student baseline ../baselines/mask-rcnn_r18_fpn_1x_coco.py (same schedule).
_base_ = '../_base_/pairs/mask-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
