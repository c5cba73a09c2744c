# Student baseline: DAB-DETR ResNet-18, COCO 50 epochs (mmdet's DAB-DETR R50 config with a
# ResNet-18: ImageNet-pretrained by URL, the file torchvision://resnet18 names; its C5 has 512
# channels). mmdet publishes no DAB-DETR R18 number; KD-DETR reports 36.2 for its own.
_base_ = 'mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet18-f37072fd.pth')),
    neck=dict(in_channels=[512]))
