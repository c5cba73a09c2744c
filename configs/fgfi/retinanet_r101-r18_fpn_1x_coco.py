# FGFI on a one-stage detector: RetinaNet ResNet-101 (teacher, mmdet 2x weights) -> ResNet-18
# (student). The imitation masks come from the student's own RetinaNet anchors
# (bbox_head.prior_generator, found without configuration: 9 anchors per location on P3..P7).
# Student baseline: mmdet::retinanet/retinanet_r18_fpn_1x_coco.py.
_base_ = '../_base_/pairs/retinanet_r101-r18.py'

model = dict(
    distillers=dict(
        fgfi=dict(type='FGFI', student='neck', teacher='neck', psi=0.5, max_iou_over='all',
                  adapter_kernel=3, warmup_iters=400, warmup='step',
                  loss=dict(type='ImitationLoss', loss_weight=0.02))))
