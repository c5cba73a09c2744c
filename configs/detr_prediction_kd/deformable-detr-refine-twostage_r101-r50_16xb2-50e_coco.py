# KD-DETR-style prediction distillation: two-stage Deformable DETR with box refinement,
# ResNet-101 (teacher, trained first: see the pair base) -> ResNet-50 (student), 50 epochs.
# Both decoders decode the teacher's 300 top-k encoder proposals and 300 random boxes; every
# student decoder layer learns the teacher's last-layer class scores (KL at T=10) and boxes
# (L1, GIoU), each point weighted by the teacher's top class probability. KD-DETR's DAB-DETR
# weights, not re-tuned. Compare with mmdet's
# deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py (47.0 box AP).
_base_ = '../_base_/pairs/deformable-detr-refine-twostage_r101-r50.py'

model = dict(
    distillers=dict(
        detr_kd=dict(
            type='DETRPredictionKD', num_random_points=None, layer_pairing='teacher_last',
            loss_cls=dict(type='KDLoss', temperature=10.0, loss_weight=1.0),
            loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
            loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0))))
