# ReviewKD: RetinaNet ResNeXt-101-64x4d (teacher, mmdet 2x weights) -> ResNet-50 (student),
# 2x schedule, FPN P3..P7 through ABFs with the HCL loss.
# Student baseline: mmdet::retinanet/retinanet_r50_fpn_2x_coco.py.
_base_ = '../_base_/pairs/retinanet_x101-r50.py'

model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.2))))
