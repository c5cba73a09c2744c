# RetinaNet FPN adapted to 128 px images of 3 classes, trained from scratch on the CPU:
# anchors half mmdet's size (octave base scale 2: 16..~400 px over P3..P7), fewer candidates
# before NMS, BN layers in training mode and no frozen stage (no pretrained weights to keep).
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    bbox_head=dict(num_classes=3, anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(nms_pre=500, max_per_img=50))
