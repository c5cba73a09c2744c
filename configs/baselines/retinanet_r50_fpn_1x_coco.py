# Student baseline: RetinaNet ResNet-50 FPN, COCO 1x (mmdet's config, 36.5 box AP).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
