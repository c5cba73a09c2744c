# KD on a dense head: GFL ResNet-101 (teacher, mmdet ms-2x weights) -> ResNet-50 (student, 1x).
# One prior per location on P3..P7 and 80 sigmoid classes on both sides: per-prior binary
# cross-entropy against the teacher's (quality-aware) sigmoid scores, times T^2.
# Student baseline: mmdet::gfl/gfl_r50_fpn_1x_coco.py.
_base_ = '../_base_/pairs/gfl_r101-r50.py'

model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
