# Student baseline: ATSS ResNet-50 FPN, COCO 1x (mmdet's config, 39.4 box AP).
_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
