# MaskKD: Mask R-CNN ResNet-101 (teacher, mmdet ms-poly-3x weights) -> ResNet-18
# (student). The teacher's mask head scores the student's positive RoIs (on the teacher's
# FPN features); per-pixel binary cross-entropy between the sigmoid probabilities of the
# ground-truth class channel, averaged over the pixels as mmdet's mask loss is.
# T=1 and weight 1.0 are untuned defaults (no published setting).
# Compare with the student baseline ../baselines/mask-rcnn_r18_fpn_1x_coco.py (same schedule).
_base_ = '../_base_/pairs/mask-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        maskkd=dict(type='MaskKD', teacher='neck',
                    loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
