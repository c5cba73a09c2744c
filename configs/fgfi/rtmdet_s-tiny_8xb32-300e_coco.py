# FGFI on an anchor-free detector: RTMDet-s (teacher, mmdet weights) -> RTMDet-tiny (student).
# RTMDet has point priors: each location gets a virtual square anchor of 4 strides (RetinaNet's
# base anchor; FGFI's point_anchor_scale), from which the imitation masks are computed as for
# anchors. 3x3 adapters map the student's 96 neck channels to the teacher's 128.
# Student baseline: mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py.
_base_ = '../_base_/pairs/rtmdet_s-tiny.py'

model = dict(
    distillers=dict(
        fgfi=dict(type='FGFI', student='neck', teacher='neck', psi=0.5, point_anchor_scale=4.0,
                  adapter_kernel=3, warmup_iters=400, warmup='step',
                  loss=dict(type='ImitationLoss', loss_weight=0.02))))
