# Student baseline: Mask R-CNN ResNet-18 FPN, COCO 1x, ImageNet-pretrained backbone (by URL:
# the file torchvision://resnet18 names, so no torchvision install is needed).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet18-f37072fd.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
