# ReviewKD on a one-stage detector: RetinaNet ResNet-101 (teacher, mmdet 2x weights) ->
# ResNet-18 (student), FPN P3..P7 distilled through ABFs with the HCL loss (weight 1.2, the
# paper's Faster R-CNN value). Student baseline: mmdet::retinanet/retinanet_r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/retinanet_r101-r18.py'

model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.2))))
