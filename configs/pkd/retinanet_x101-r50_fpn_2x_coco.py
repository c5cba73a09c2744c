# PKD: RetinaNet ResNeXt-101 64x4d 1x (teacher, 41.0 box AP) -> ResNet-50 2x (student). FPN
# P3..P6 (P7 is not distilled), loss weight 10, as in MMRazor's config.
# Published (MMRazor, not reproduced here): 37.4 -> 40.8 box AP.
_base_ = '../_base_/pairs/retinanet_x101_1x-r50.py'

model = dict(
    distillers=dict(
        pkd=dict(type='PKD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='PKDLoss', loss_weight=10.0))))
