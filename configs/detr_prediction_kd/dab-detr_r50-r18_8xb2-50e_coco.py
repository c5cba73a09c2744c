# KD-DETR's setting in mmdet: DAB-DETR ResNet-50 (teacher, mmdet 50-epoch weights) ->
# ResNet-18 (student), 50 epochs. Both decoders decode the teacher's 300 learned anchors and
# 300 random anchors; every student decoder layer learns the teacher's last-layer class scores
# (KL at T=10) and boxes (L1, GIoU), each point weighted by the teacher's top class
# probability, with KD-DETR's weights 1, 5, 2. (KD-DETR trains 8 GPUs x 8 images with AdamW
# 2e-4; this keeps mmdet's 8 x 2 recipe.) Compare with ../baselines/dab-detr_r18_8xb2-50e_coco.py.
_base_ = '../_base_/pairs/dab-detr_r50-r18.py'

model = dict(
    distillers=dict(
        detr_kd=dict(
            type='DETRPredictionKD', num_random_points=None, layer_pairing='teacher_last',
            loss_cls=dict(type='KDLoss', temperature=10.0, loss_weight=1.0),
            loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
            loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0))))
