# FitNet: Faster R-CNN ResNet-50 (teacher, mmdet ms-3x weights) -> MobileNetV2 (student) on
# FPN P2..P6: a 1x1 adapter conv on each student level, MSE to the teacher's level.
# Compare with the student baseline ../baselines/faster-rcnn_mv2_fpn_1x_coco.py (same schedule).
_base_ = '../baselines/faster-rcnn_mv2_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco_20210524_110822-e10bd31c.pth',
    distillers=dict(
        fitnet=dict(type='FitNet', student='neck', teacher='neck',
                    loss=dict(type='FeatureMSELoss', loss_weight=1.0))))
