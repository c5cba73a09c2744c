# Student baseline: GFL ResNet-50 FPN, COCO 1x (mmdet's config, 40.2 box AP).
_base_ = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'
