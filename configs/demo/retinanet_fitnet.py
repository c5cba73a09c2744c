# Demo FitNet, one-stage: the student's FPN outputs P3..P7 regress the demo RetinaNet
# teacher's through 1x1 convs (64 -> 128 channels), weight 0.2 as in the Faster R-CNN demo.
# Train the teacher first: python tools/train.py configs/demo/retinanet_teacher.py
_base_ = './_base_/retinanet_pair.py'

work_dir = 'work_dirs/demo/retinanet_fitnet'
model = dict(
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=0.2))))
