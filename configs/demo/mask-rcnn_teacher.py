# Demo teacher: Mask R-CNN with a ResNet-34 of half width (stages of 32/64/128/256
# channels), a 128-channel FPN, a 512-wide box head and a 128-channel mask head, trained
# from scratch on the shapes data (with masks) for 3x the student's iterations.
_base_ = ['./_base_/mask_rcnn_shapes.py', './_base_/shapes_instance.py',
          './_base_/schedule_demo.py']

work_dir = 'work_dirs/demo/mask-rcnn_teacher'

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
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=512),
        mask_roi_extractor=dict(out_channels=128),
        mask_head=dict(in_channels=128, conv_out_channels=128)))
