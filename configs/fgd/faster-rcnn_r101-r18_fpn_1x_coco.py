# FGD on the ReviewKD paper's pair: Faster R-CNN ResNet-101 (teacher, mmdet ms-3x weights)
# -> ResNet-18 (student), FPN P2..P5, the authors' Faster R-CNN weights (temperature 0.5,
# alpha 5e-5, beta 2.5e-5, gamma 5e-5, lambda 5e-7). The student starts from scratch (no
# init_student_from_teacher), like the other methods on this pair. No published number.
# Compare with ../baselines/faster-rcnn_r18_fpn_1x_coco.py and the other methods'
# faster-rcnn_r101-r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        fgd=dict(type='FGD', student='neck[:4]', teacher='neck[:4]',
                 loss=dict(type='FGDLoss', temperature=0.5, alpha=5e-5, beta=2.5e-5,
                           gamma=5e-5, lambda_=5e-7))))
