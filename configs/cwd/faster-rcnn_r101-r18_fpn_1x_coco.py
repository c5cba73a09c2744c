# CWD on the ReviewKD paper's pair: Faster R-CNN ResNet-101 (teacher, mmdet ms-3x weights)
# -> ResNet-18 (student), all five FPN levels, tau 1, MMRazor's FPN weight 10. No
# published number for this pair.
# Compare with ../baselines/faster-rcnn_r18_fpn_1x_coco.py and the other methods'
# faster-rcnn_r101-r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        cwd=dict(type='CWD', student='neck', teacher='neck',
                 loss=dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=10.0))))
