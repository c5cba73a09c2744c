# PKD on the ReviewKD paper's pair: Faster R-CNN ResNet-101 (teacher, mmdet ms-3x weights)
# -> ResNet-18 (student), FPN P2..P5, the published Faster R-CNN weight 6. The FPNs have
# the same width, so no adapter is needed. No published number for this pair.
# Compare with ../baselines/faster-rcnn_r18_fpn_1x_coco.py and the other methods'
# faster-rcnn_r101-r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        pkd=dict(type='PKD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='PKDLoss', loss_weight=6.0))))
