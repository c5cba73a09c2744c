# Demo PKD: the student of faster-rcnn_student.py learns to correlate, channel by channel,
# with the demo teacher's FPN outputs P2..P5 (1x1 adapters, 64 -> 128 channels; the
# published configs leave P6 out); same schedule as the baseline.
# Loss weight 1, not the published 6: like ReviewKD's HCL (demo weight 0.2 for the paper's
# 1.2), the loss is a mean over elements, so its scale does not depend on image or map
# size; the same 1/6 keeps it near the detection losses of a student trained from
# scratch (each level starts near 1 when student and teacher are uncorrelated).
# Not tuned separately.
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_pkd'
model = dict(
    distillers=dict(
        pkd=dict(type='PKD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='PKDLoss', loss_weight=1.0))))
