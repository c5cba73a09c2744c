# ReviewKD from a heterogeneous teacher: Mask R-CNN ConvNeXt-T (mmpretrain backbone, mmdet
# ms-crop-3x weights) -> RetinaNet ResNet-50. 'neck' on both sides pairs the FPN levels of the
# strides both have (P3..P6; logged at build): the teacher's P2 and the student's P7 are not
# distilled. Student baseline: mmdet::retinanet/retinanet_r50_fpn_1x_coco.py.
_base_ = '../_base_/pairs/mask-rcnn-convnext-t_retinanet-r50.py'

model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.2))))
