# FGD: Faster R-CNN ResNet-101 2x (teacher, 39.8 box AP) -> ResNet-50 2x (student), FPN
# P2..P5, the authors' Faster R-CNN weights (temperature 0.5, alpha 5e-5, beta 2.5e-5,
# gamma 5e-5, lambda 5e-7). As in the published configs, the student's neck and heads
# start from the teacher's weights (init_student_from_teacher).
# Published (FGD README, not reproduced here) with another teacher, Cascade Mask R-CNN
# ResNeXt-101 32x4d DCN: 38.4 -> 42.0 box AP. No number for this teacher.
_base_ = '../_base_/pairs/faster-rcnn_r101-r50_2x.py'

model = dict(
    init_student_from_teacher=('neck', 'rpn_head', 'roi_head'),
    distillers=dict(
        fgd=dict(type='FGD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='FGDLoss', temperature=0.5, alpha=5e-5, beta=2.5e-5,
                           gamma=5e-5, lambda_=5e-7))))
