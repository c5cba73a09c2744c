# Demo MGD: the student's FPN outputs P2..P5 (1x1 aligners, 64 -> 128 channels), with 45%
# of the positions masked, feed generators that rebuild the demo teacher's features
# (the two-stage setting of the authors); same schedule as the baseline.
# Loss weight 6.5e-5 = the published two-stage 5e-7 x 130: the loss sums squared errors
# over C x H x W, and a 1333x800 COCO image with 256 channels has 65 x 2 = 130 times the
# elements of a 128-px demo image with 128 channels. Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_mgd'
model = dict(
    distillers=dict(
        mgd=dict(type='MGD', student='neck[:4]', teacher='neck[:4]', mask_ratio=0.45,
                 loss=dict(type='MGDLoss', loss_weight=6.5e-5))))
