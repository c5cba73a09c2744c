# Demo MaskKD: the demo teacher's mask head scores the student's positive RoIs (on the
# teacher's FPN features); per-pixel binary cross-entropy between the sigmoid mask
# probabilities of each RoI's ground-truth class, averaged over the pixels as mmdet's mask
# loss is. T=1, weight 1.0 (untuned: the two losses then have the same scale).
# Train the teacher first: python tools/train.py configs/demo/mask-rcnn_teacher.py
_base_ = './_base_/mask_rcnn_pair.py'

work_dir = 'work_dirs/demo/mask-rcnn_maskkd'
model = dict(
    distillers=dict(
        maskkd=dict(type='MaskKD', teacher='neck',
                    loss=dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))))
