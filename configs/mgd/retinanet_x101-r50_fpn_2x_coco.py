# MGD: RetinaNet ResNeXt-101 64x4d 1x (teacher, 41.0 box AP) -> ResNet-50 2x (student), all
# five FPN levels, 65% of positions masked, alpha 2e-5: the authors' one-stage setting.
# As in the published configs, the student's neck and head start from the teacher's
# weights (init_student_from_teacher): part of the gain comes from that, not from the loss.
# Published (MMRazor, not reproduced here): 37.4 -> 41.0 box AP.
_base_ = '../_base_/pairs/retinanet_x101_1x-r50.py'

model = dict(
    init_student_from_teacher=('neck', 'bbox_head'),
    distillers=dict(
        mgd=dict(type='MGD', student='neck', teacher='neck', mask_ratio=0.65,
                 loss=dict(type='MGDLoss', loss_weight=2e-5))))
