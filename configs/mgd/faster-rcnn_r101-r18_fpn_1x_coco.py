# MGD on the ReviewKD paper's pair: Faster R-CNN ResNet-101 (teacher, mmdet ms-3x weights)
# -> ResNet-18 (student), FPN P2..P5, 45% of positions masked, alpha 5e-7: the authors'
# two-stage setting. The student starts from scratch (no init_student_from_teacher), like
# the other methods on this pair. No published number for this pair.
# Compare with ../baselines/faster-rcnn_r18_fpn_1x_coco.py and the other methods'
# faster-rcnn_r101-r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        mgd=dict(type='MGD', student='neck[:4]', teacher='neck[:4]', mask_ratio=0.45,
                 loss=dict(type='MGDLoss', loss_weight=5e-7))))
