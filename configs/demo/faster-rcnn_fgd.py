# Demo FGD: the student's FPN outputs P2..P5 (1x1 aligners, 64 -> 128 channels) imitate
# the demo teacher's, foreground and background apart and weighted by the teacher's
# attention, plus the attention and GcBlock global-relation terms (the authors' two-stage
# setting); same schedule as the baseline.
# Weights from the published Faster R-CNN ones (temperature 0.5, 5e-5 / 2.5e-5 / 5e-5 /
# 5e-7) scaled to the demo's size: the focal terms sum over channels only (the masks are
# normalised per box and per image) and the demo has half the channels (x2); the global
# term sums over C x H x W (x130, as in faster-rcnn_mgd.py). Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_fgd'
model = dict(
    distillers=dict(
        fgd=dict(type='FGD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='FGDLoss', temperature=0.5, alpha=1e-4, beta=5e-5,
                           gamma=1e-4, lambda_=6.5e-5))))
