# Distillation pair: two-stage Deformable DETR with box refinement, ResNet-101 teacher ->
# ResNet-50 student (mmdet's refine-twostage R50 config, 47.0 box AP on COCO val2017).
# mmdet publishes no ResNet-101 weights: train the teacher first with
# ../../baselines/deformable-detr-refine-twostage_r101_16xb2-50e_coco.py; teacher_ckpt is
# where tools/train.py saves its last epoch (relative to the repository root; point it
# elsewhere with --cfg-options model.teacher_ckpt=...).
# Method configs inherit this and add only their distillers:
#   _base_ = '../_base_/pairs/deformable-detr-refine-twostage_r101-r50.py'
#   model = dict(distillers=dict(name=dict(type=..., ...)))
_base_ = 'mmdet::deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher=dict(
        cfg_path='mmdet::deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
        backbone=dict(depth=101, init_cfg=None)),
    teacher_ckpt='work_dirs/deformable-detr-refine-twostage_r101_16xb2-50e_coco/epoch_50.pth',
    distillers=dict())
# mmkd's runner adds the reliability hooks (exact resume, checkpoint guard, data checks)
# under any launcher: mmkd's or mmdet's tools/train.py, mim train.
runner_type = 'mmkd.DistillationRunner'
