# Demo CrossKD, one-stage: the student head's branch features after its one stacked conv
# (the demo heads have one per branch) are standardised to the teacher's statistics and run
# through the teacher's predictors; those cross-head predictions learn the teacher's (quality-focal binary KD on
# the scores, GIoU on the decoded boxes weighted by the teacher's max score, both divided by
# the positives). The demo teacher's head is twice as wide (128 channels against 64), so a
# trainable 1x1 conv per branch maps the student's channels to the teacher's, as CrossKD's
# authors suggest. The published RetinaNet weights (1 and 1), not tuned.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_crosskd'
model = dict(
    distillers=dict(
        crosskd=dict(type='CrossKD', teacher='neck', student_convs=1, channel_adapter=True)))
