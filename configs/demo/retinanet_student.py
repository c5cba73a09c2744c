# Demo one-stage student baseline: RetinaNet with a ResNet-18 of a quarter width (stages of
# 16/32/64/128 channels) and a 64-channel FPN and head; no distillation.
_base_ = ['./_base_/retinanet_shapes.py', './_base_/shapes_detection.py',
          './_base_/schedule_demo.py']

work_dir = 'work_dirs/demo/retinanet_student'

model = dict(
    backbone=dict(depth=18, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64))
