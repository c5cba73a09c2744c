# Demo FGFI: the student of faster-rcnn_student.py imitates the demo teacher's FPN outputs
# P2..P6 (3x3 adapter, 64 -> 128 channels) at the locations whose anchors lie near a
# ground-truth box (psi = 0.5). The loss stays off during the 50 warm-up iterations (the
# original's 400 of a much longer schedule, scaled down); same schedule as the baseline.
# tools/demo.py --pretrained sets the weight chosen for pretrained backbones
# (experiments/settings.py).
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_fgfi'
model = dict(
    distillers=dict(
        fgfi=dict(type='FGFI', student='neck', teacher='neck', psi=0.5, adapter_kernel=3,
                  warmup_iters=50, warmup='step',
                  loss=dict(type='ImitationLoss', loss_weight=0.02))))
