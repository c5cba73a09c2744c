# Self-distillation (born-again networks, Furlanello et al., 2018): a trained Faster R-CNN
# ResNet-18 teaches a fresh ResNet-18 of the same architecture, through KD on the RoI
# class distribution (the teacher's box head scores the student's sampled RoIs).
#
# Step 1 - train the teacher, i.e. the plain student baseline (from the repository root):
#   python tools/train.py configs/baselines/faster-rcnn_r18_fpn_1x_coco.py
# which writes work_dirs/faster-rcnn_r18_fpn_1x_coco/epoch_12.pth, the teacher_ckpt below
# (a plain mmdet checkpoint of that config; give another path with
#  --cfg-options model.teacher_ckpt=PATH, e.g. an exported distilled student.pth).
# Step 2 - distil:
#   python tools/train.py configs/self/faster-rcnn_r18-r18_kd_fpn_1x_coco.py
# Further generations: export this student (tools/export_student.py) and use its
# student.pth as teacher_ckpt.
_base_ = '../baselines/faster-rcnn_r18_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher={{_base_.model}},  # same architecture as the student
    teacher_ckpt='work_dirs/faster-rcnn_r18_fpn_1x_coco/epoch_12.pth',
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
