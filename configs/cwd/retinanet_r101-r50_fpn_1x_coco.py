# CWD: RetinaNet ResNet-101 2x (teacher, 38.9 box AP) -> ResNet-50 1x (student), all five
# FPN levels, tau 1, loss weight 10, as in MMRazor's config. No COCO number is published
# for this config (the paper's abstract reports +3.4 mAP for a RetinaNet-R50 student).
_base_ = '../_base_/pairs/retinanet_r101-r50.py'

model = dict(
    distillers=dict(
        cwd=dict(type='CWD', student='neck', teacher='neck',
                 loss=dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=10.0))))
