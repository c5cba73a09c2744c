# KD on a cascade: Cascade R-CNN ResNet-101 (teacher, mmdet 20e weights) -> ResNet-50 (student).
# At every stage i the teacher's stage-i box head scores the student's stage-i RoIs; the KL
# losses of the stages are summed with the cascade's own stage weights (1, 0.5, 0.25).
# Student baseline: mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py.
_base_ = '../_base_/pairs/cascade-rcnn_r101-r50.py'

model = dict(
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
