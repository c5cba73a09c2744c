# Demo student baseline: Faster R-CNN with a ResNet-18 of a quarter width (stages of
# 16/32/64/128 channels), a 64-channel FPN and a 256-wide box head; no distillation.
_base_ = ['./_base_/faster_rcnn_shapes.py', './_base_/shapes_detection.py',
          './_base_/schedule_demo.py']

work_dir = 'work_dirs/demo/faster-rcnn_student'

model = dict(
    backbone=dict(depth=18, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256)))
