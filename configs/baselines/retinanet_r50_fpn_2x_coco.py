# Student baseline: RetinaNet ResNet-50 FPN, COCO 2x (mmdet's config, 37.4 box AP in its
# model zoo; the backbone's ImageNet weights by URL, the file torchvision://resnet50 names).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py'

model = dict(
    backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth')))
