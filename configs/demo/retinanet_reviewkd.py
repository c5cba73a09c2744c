# Demo ReviewKD, one-stage: the student of retinanet_student.py learns from the demo
# RetinaNet teacher's FPN outputs P3..P7 through ABFs (128 mid channels, the teacher's width)
# and the HCL loss, weight 0.2 as in the Faster R-CNN demo (not tuned for RetinaNet).
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_reviewkd'
model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=128,
                      loss=dict(type='HCLLoss', loss_weight=0.2))))
