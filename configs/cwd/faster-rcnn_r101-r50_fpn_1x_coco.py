# CWD: Faster R-CNN ResNet-101 2x (teacher, 39.8 box AP; MMRazor's teacher, not the ms-3x
# one of the pair file) -> ResNet-50 1x (student), all five FPN levels, tau 1, loss weight
# 10, as in MMRazor's config. No COCO number is published for this config.
_base_ = '../_base_/pairs/faster-rcnn_r101-r50.py'

model = dict(
    teacher='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r101_fpn_2x_coco/'
    'faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth',
    distillers=dict(
        cwd=dict(type='CWD', student='neck', teacher='neck',
                 loss=dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=10.0))))
