# FitNet: Faster R-CNN ResNet-101 (teacher) -> ResNet-18 (student) on FPN P2..P6.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
