# Demo FitNet: the student of faster-rcnn_student.py, its FPN outputs P2..P6 regressing the
# demo teacher's through 1x1 convs (64 -> 128 channels), same schedule as the baseline.
# Loss weight 0.2, ReviewKD's demo weight: both losses sum a per-level MSE over P2..P6, so
# the same weight gives the same scale (not tuned separately for FitNet).
# tools/demo.py --pretrained sets the weight chosen for pretrained backbones
# (experiments/settings.py).
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './_base_/faster_rcnn_pair.py'

work_dir = 'work_dirs/demo/faster-rcnn_fitnet'
model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=0.2))))
