# Student baseline: Faster R-CNN MobileNetV2 FPN, COCO 1x, ImageNet-pretrained backbone.
# Stages 1, 2, 4, 7 of MobileNetV2 have strides 4, 8, 16, 32 like ResNet's C2..C5.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 7),
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
