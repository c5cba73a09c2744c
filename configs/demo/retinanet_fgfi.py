# Demo FGFI, one-stage: the student of retinanet_student.py imitates the demo teacher's FPN
# outputs P3..P7 (3x3 adapter, 64 -> 128 channels) at the locations whose RetinaNet anchors
# (the student's bbox_head.prior_generator, found by FGFI) lie near a ground-truth box
# (psi = 0.5); off for the first 50 iterations, as in the Faster R-CNN demo.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_fgfi'
model = dict(
    distillers=dict(
        fgfi=dict(type='FGFI', student='neck', teacher='neck', psi=0.5, adapter_kernel=3,
                  warmup_iters=50, warmup='step',
                  loss=dict(type='ImitationLoss', loss_weight=0.02))))
