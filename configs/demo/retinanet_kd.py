# Demo KD, one-stage: teacher and student share RetinaNet's prior layout (9 anchors per
# location on P3..P7, 3 sigmoid classes), so every anchor's class probabilities are
# distilled: binary cross-entropy against the teacher's, T=1, weight 1.0 (untuned).
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_kd'
model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
