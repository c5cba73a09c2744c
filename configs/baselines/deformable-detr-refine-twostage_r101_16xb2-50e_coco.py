# Teacher to train first (mmdet publishes no Deformable DETR ResNet-101 weights): two-stage
# Deformable DETR with box refinement, ResNet-101, COCO 50 epochs (mmdet's R50 config with an
# ImageNet-pretrained ResNet-101 by URL, the file torchvision://resnet101 names). Train with
# python tools/train.py configs/baselines/deformable-detr-refine-twostage_r101_16xb2-50e_coco.py
# and point the pair ../_base_/pairs/deformable-detr-refine-twostage_r101-r50.py at it.
_base_ = 'mmdet::deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet101-63fe2227.pth')))
