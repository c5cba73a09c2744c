# FGD: RetinaNet ResNeXt-101 64x4d 1x (teacher, 41.0 box AP) -> ResNet-50 2x (student), all
# five FPN levels, the authors' RetinaNet weights (temperature 0.5, alpha 1e-3, beta 5e-4,
# gamma 5e-4, lambda 5e-6). As in the published configs, the student's neck and head
# start from the teacher's weights (init_student_from_teacher): part of the gain comes
# from that, not from the loss.
# Published (FGD README, not reproduced here): 37.4 -> 40.7 box AP.
_base_ = '../_base_/pairs/retinanet_x101_1x-r50.py'

model = dict(
    init_student_from_teacher=('neck', 'bbox_head'),
    distillers=dict(
        fgd=dict(type='FGD', student='neck', teacher='neck',
                 loss=dict(type='FGDLoss', temperature=0.5, alpha=1e-3, beta=5e-4,
                           gamma=5e-4, lambda_=5e-6))))
