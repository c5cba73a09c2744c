# Student baseline: RetinaNet ResNet-18 FPN, COCO 1x (mmdet's config, 31.7 box AP).
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
