# Student baseline: FCOS ResNet-50 (caffe style) FPN, GroupNorm head, multi-scale 640-800
# training, COCO 2x (mmdet's config, 38.5 box AP).
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py'
