# KD (Hinton et al., 2015): Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-18
# (student). The teacher's box head scores the student's sampled RoIs; KL between the
# temperature-softened class distributions (background included), times T^2.
# T=1 and weight 1.0 are untuned defaults (the paper gives no KD hyper-parameters).
# Compare with the student baseline ../baselines/mask-rcnn_r18_fpn_1x_coco.py (same schedule).
_base_ = '../_base_/pairs/mask-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
