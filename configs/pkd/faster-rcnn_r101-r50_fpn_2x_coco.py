# PKD: Faster R-CNN ResNet-101 2x (teacher, 39.8 box AP) -> ResNet-50 2x (student). FPN
# P2..P5 (P6 is not distilled), loss weight 6, as in MMRazor's config.
# Published (MMRazor, not reproduced here): 38.4 -> 40.3 box AP.
_base_ = '../_base_/pairs/faster-rcnn_r101-r50_2x.py'

model = dict(
    distillers=dict(
        pkd=dict(type='PKD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='PKDLoss', loss_weight=6.0))))
