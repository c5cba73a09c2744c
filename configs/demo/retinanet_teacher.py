# Demo one-stage teacher: RetinaNet with a ResNet-34 of half width (stages of 32/64/128/256
# channels) and a 128-channel FPN and head, trained from scratch on the shapes data for 3x
# the student's iterations.
_base_ = ['./_base_/retinanet_shapes.py', './_base_/shapes_detection.py',
          './_base_/schedule_demo.py']

work_dir = 'work_dirs/demo/retinanet_teacher'

max_iters = 900
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.8)], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))

model = dict(
    backbone=dict(depth=34, base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128))
