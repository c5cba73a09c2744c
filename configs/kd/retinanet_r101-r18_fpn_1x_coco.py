# KD on a dense head: RetinaNet ResNet-101 (teacher, mmdet 2x weights) -> ResNet-18 (student).
# The teacher's head runs on its own FPN features; teacher and student share the prior layout
# (9 anchors per location on P3..P7, 80 sigmoid classes), so every anchor's class
# probabilities are distilled: binary cross-entropy against the teacher's sigmoid
# probabilities at temperature T, times T^2. T=1 and weight 1.0 are untuned defaults.
_base_ = '../_base_/pairs/retinanet_r101-r18.py'

model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
