# Demo CWD: each channel of the student's FPN outputs P2..P6 (1x1 adapters, 64 -> 128
# channels) follows the spatial distribution (softmax over positions, tau = 1) of the
# demo teacher's channel; same schedule as the baseline.
# Loss weight 2, not MMRazor's 10: the KL is averaged over images and channels, so its
# scale does not follow the image size; the ReviewKD demo's ratio to the paper weight
# (0.2 / 1.2) brings 10 to about 2. Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_cwd'
model = dict(
    distillers=dict(
        cwd=dict(type='CWD', student='neck', teacher='neck',
                 loss=dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=2.0))))
