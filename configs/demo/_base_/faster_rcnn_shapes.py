# Faster R-CNN FPN adapted to 128 px images of 3 classes, trained from scratch on the CPU:
# anchors half mmdet's size (16..256 px), fewer proposals and sampled RoIs, BN layers in
# training mode and no frozen stage (there are no pretrained weights to keep).
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    rpn_head=dict(anchor_generator=dict(scales=[4])),
    roi_head=dict(bbox_head=dict(num_classes=3)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(max_per_img=50)))
