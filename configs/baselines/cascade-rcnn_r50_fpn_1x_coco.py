# Student baseline: Cascade R-CNN ResNet-50 FPN, COCO 1x (mmdet's config, 40.3 box AP).
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
