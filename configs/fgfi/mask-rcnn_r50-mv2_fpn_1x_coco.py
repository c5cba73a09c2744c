# FGFI: Mask R-CNN ResNet-50 (teacher, mmdet ms-3x weights) -> MobileNetV2 (student).
# The student's adapted FPN outputs P2..P6 imitate the teacher's at the locations whose RPN
# anchors lie near a ground-truth box (psi = 0.5, max IoU of a box over all levels' anchors);
# loss = 0.02 * sum of squared errors / (2 * Np), off for the first 400 iterations.
# Compare with the student baseline ../baselines/mask-rcnn_mv2_fpn_1x_coco.py (same schedule).
# See the masks: python tools/visualize_fgfi_masks.py THIS_CONFIG --out-dir fgfi_masks
_base_ = '../_base_/pairs/mask-rcnn_r50-mv2.py'

model = dict(
    distillers=dict(
        fgfi=dict(type='FGFI', student='neck', teacher='neck', psi=0.5, max_iou_over='all',
                  adapter_kernel=3, warmup_iters=400, warmup='step',
                  loss=dict(type='ImitationLoss', loss_weight=0.02))))
