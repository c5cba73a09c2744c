# MaskKD: Cascade Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-50
# (student). At each of the three stages the teacher's mask head scores the student's
# positive RoIs of that stage; per-pixel binary cross-entropy on the ground-truth class
# channel, the stages weighted as the cascade weights its own losses (1, 0.5, 0.25).
# T=1 and weight 1.0 are untuned defaults (no published setting).
# Compare with the student baseline ../baselines/cascade-mask-rcnn_r50_fpn_1x_coco.py.
_base_ = '../_base_/pairs/cascade-mask-rcnn_r101-r50.py'

model = dict(
    distillers=dict(
        maskkd=dict(type='MaskKD', teacher='neck',
                    loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
