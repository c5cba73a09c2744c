# Demo BCKD, one-stage: teacher and student share RetinaNet's anchors (9 per location on
# P3..P7, 3 sigmoid classes), so the student head's own predictions learn the teacher's at
# every valid anchor: binary classification KD (cross-entropy against the teacher's
# probabilities, times their difference) and GIoU between the decoded boxes, weighted by the
# largest class-probability difference; both divided by the positives. The published GFL
# weights (1 and 4), not tuned.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_bckd'
model = dict(
    distillers=dict(
        bckd=dict(type='BCKD', teacher='neck',
                  loss_cls=dict(type='QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
                  loss_box=dict(type='IoUKDLoss', mode='giou', loss_weight=4.0))))
