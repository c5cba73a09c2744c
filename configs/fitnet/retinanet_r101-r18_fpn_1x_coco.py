# FitNet: RetinaNet ResNet-101 (teacher, mmdet 2x weights) -> ResNet-18 (student) on FPN P3..P7.
_base_ = '../_base_/pairs/retinanet_r101-r18.py'

model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
