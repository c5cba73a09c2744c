# KD (Hinton et al., 2015): Faster R-CNN ResNet-50 (teacher, mmdet ms-3x weights) -> MobileNetV2
# (student). The teacher's box head scores the student's sampled RoIs; KL between the
# temperature-softened class distributions (background included), times T^2.
# T=1 and weight 1.0 are untuned defaults (the paper gives no KD hyper-parameters).
# Compare with the student baseline ../baselines/faster-rcnn_mv2_fpn_1x_coco.py (same schedule).
_base_ = '../_base_/pairs/faster-rcnn_r50-mv2.py'

model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
