# Demo KD: the demo teacher's box head scores the student's sampled RoIs (on the teacher's
# FPN features); KL between the softened class distributions, T=1, weight 1.0 (untuned).
# Train the teacher first: python tools/train.py configs/demo/mask-rcnn_teacher.py
_base_ = './_base_/mask_rcnn_pair.py'

work_dir = 'work_dirs/demo/mask-rcnn_kd'
model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
