# FitNet across detector heads: FCOS ResNeXt-101-64x4d (anchor-free teacher, mmdet ms-2x
# weights) -> RetinaNet ResNet-50 (student) on FPN P3..P7, which both detectors share.
# Student baseline: mmdet::retinanet/retinanet_r50_fpn_1x_coco.py.
_base_ = '../_base_/pairs/fcos-x101_retinanet-r50.py'

model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
