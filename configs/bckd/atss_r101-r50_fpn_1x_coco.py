# BCKD: ATSS ResNet-101 1x (teacher, 41.5 box AP) -> ATSS ResNet-50 1x (student), CrossKD's
# ATSS pair. The published GFL weights (cls 1, GIoU 4), not tuned for ATSS.
# No published BCKD number for ATSS in the released code (paper: not verified).
_base_ = '../_base_/pairs/atss_r101-r50.py'

model = dict(
    distillers=dict(
        bckd=dict(type='BCKD', teacher='neck',
                  loss_cls=dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
                  loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=4.0))))
