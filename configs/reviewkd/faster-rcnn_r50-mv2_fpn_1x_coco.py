# ReviewKD: Faster R-CNN ResNet-50 (teacher, mmdet ms-3x weights) -> MobileNetV2 (student),
# FPN P2..P6 distilled through ABFs with the HCL loss, loss weight 2.0 as in the paper.
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
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=2.0))))
