# Demo FGD, one-stage: the student's FPN outputs P3..P7 (1x1 aligners, 64 -> 128 channels)
# imitate the demo teacher's, foreground and background apart and weighted by the teacher's
# attention, plus the attention and GcBlock global-relation terms; same schedule as the
# baseline.
# Weights from the published RetinaNet ones (temperature 0.5, 1e-3 / 5e-4 / 5e-4 / 5e-6)
# scaled to the demo's size as in faster-rcnn_fgd.py: x2 for the focal terms (half the
# channels), x130 for the global term (it sums over C x H x W). Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_fgd'
model = dict(
    distillers=dict(
        fgd=dict(type='FGD', student='neck', teacher='neck',
                 loss=dict(type='FGDLoss', temperature=0.5, alpha=2e-3, beta=1e-3,
                           gamma=1e-3, lambda_=6.5e-4))))
