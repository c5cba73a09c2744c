# BCKD: FCOS ResNet-101 caffe GN-head ms-2x (teacher, 40.8 box AP) -> FCOS ResNet-50 caffe
# GN-head ms-2x (student), CrossKD's FCOS pair. The published GFL weights (cls 1, GIoU 4),
# not tuned for FCOS; every point is valid (FCOS has no ignored points).
# No published BCKD number for FCOS in the released code (paper: not verified).
_base_ = '../_base_/pairs/fcos_r101-r50.py'

model = dict(
    distillers=dict(
        bckd=dict(type='BCKD', teacher='neck',
                  loss_cls=dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
                  loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=4.0))))
