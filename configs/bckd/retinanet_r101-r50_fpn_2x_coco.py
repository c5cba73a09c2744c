# BCKD: RetinaNet ResNet-101 2x (teacher, 38.9 box AP) -> ResNet-50 2x (student), CrossKD's
# RetinaNet pair. The published GFL weights (cls 1, GIoU 4), not tuned for RetinaNet.
# No published BCKD number for RetinaNet in the released code (paper: not verified).
_base_ = '../_base_/pairs/retinanet_r101-r50_2x.py'

model = dict(
    distillers=dict(
        bckd=dict(type='BCKD', teacher='neck',
                  loss_cls=dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
                  loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=4.0))))
