# Student baseline: Cascade Mask R-CNN ResNet-50 FPN, COCO 1x (mmdet's config, 41.2 box /
# 35.9 mask AP).
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
