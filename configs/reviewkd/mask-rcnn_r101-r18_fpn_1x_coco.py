# ReviewKD: Mask R-CNN ResNet-101 (teacher, mmdet ms-3x weights) -> ResNet-18 (student),
# FPN P2..P6 distilled through ABFs with the HCL loss, loss weight 1.5 as in the paper.
# Compare with the student baseline ../baselines/mask-rcnn_r18_fpn_1x_coco.py (same schedule).
_base_ = '../_base_/pairs/mask-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.5))))
