# KD-DETR-style prediction distillation: DINO 4-scale ResNet-50 (teacher, mmdet 12-epoch
# weights) -> ResNet-18 (student). Both decoders decode the teacher's 900 top-k encoder
# proposals and 900 random boxes (as many as the student has queries); every student decoder
# layer learns the teacher's last-layer class scores (KL at T=10) and boxes (L1, GIoU), each
# point weighted by the teacher's top class probability. KD-DETR's DAB-DETR weights, not
# re-tuned for DINO. Compare with ../baselines/dino-4scale_r18_8xb2-12e_coco.py.
_base_ = '../_base_/pairs/dino_r50-r18.py'

model = dict(
    distillers=dict(
        detr_kd=dict(
            type='DETRPredictionKD', num_random_points=None, layer_pairing='teacher_last',
            loss_cls=dict(type='KDLoss', temperature=10.0, loss_weight=1.0),
            loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
            loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0))))
