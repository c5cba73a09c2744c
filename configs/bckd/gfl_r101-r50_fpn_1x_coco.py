# BCKD: GFL ResNet-101 ms-2x (teacher, 44.7 box AP) -> GFL ResNet-50 1x (student). Binary
# classification KD (beta 1, weight 1) and GIoU localisation KD (weight 4) on every valid
# anchor of every level, both divided by #positives: the published GFL setting.
# Published (BCKD README, not reproduced here): 40.1 -> 43.2 box AP.
_base_ = '../_base_/pairs/gfl_r101-r50.py'

model = dict(
    distillers=dict(
        bckd=dict(type='BCKD', teacher='neck',
                  loss_cls=dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
                  loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=4.0))))
