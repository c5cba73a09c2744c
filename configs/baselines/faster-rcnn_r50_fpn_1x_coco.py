# Student baseline: Faster R-CNN ResNet-50 FPN, COCO 1x (mmdet's config; the backbone's
# ImageNet weights by URL, the file torchvision://resnet50 names, so no torchvision is needed).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth')))
