# Demo PKD, one-stage: the student of retinanet_student.py learns to correlate, channel by
# channel, with the demo teacher's FPN outputs P3..P6 (1x1 adapters, 64 -> 128 channels; the
# published RetinaNet config leaves P7 out); same schedule as the baseline.
# Loss weight 1, as in faster-rcnn_pkd.py (the loss is a mean over elements, each level
# starts near 1 when student and teacher are uncorrelated). Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_pkd'
model = dict(
    distillers=dict(
        pkd=dict(type='PKD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='PKDLoss', loss_weight=1.0))))
