# Teacher assistant, step 2 of 2: the ResNet-50 distilled in step 1
# (faster-rcnn_r101-r50_ta-step1_fpn_1x_coco.py, see the commands there) and exported with
# tools/export_student.py teaches a Faster R-CNN ResNet-18 (ReviewKD on FPN P2..P6, loss
# weight 1.2 as the paper's R101->R18 pair: same student).
# The teacher is the exported plain mmdet detector: its config and weights, loaded
# strictly. Paths are relative to the repository root (where tools/train.py runs); point
# them elsewhere with --cfg-options model.teacher.cfg_path=... model.teacher_ckpt=...
_base_ = '../baselines/faster-rcnn_r18_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher=dict(cfg_path='work_dirs/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco/export/'
                 'student_config.py'),
    teacher_ckpt='work_dirs/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco/export/student.pth',
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.2))))
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
