# Student baseline: DINO 4-scale ResNet-18, COCO 12 epochs (mmdet's DINO R50 config with a
# ResNet-18: ImageNet-pretrained by URL, the file torchvision://resnet18 names; C3-C5 have
# 128, 256 and 512 channels). mmdet publishes no DINO R18 number.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet18-f37072fd.pth')),
    neck=dict(in_channels=[128, 256, 512]))
