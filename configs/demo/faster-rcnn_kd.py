# Demo KD: the demo teacher's box head scores the student's sampled RoIs (on the teacher's
# FPN features); KL between the softened class distributions, T=1, weight 1.0 (untuned).
# Train the teacher first: python tools/train.py configs/demo/faster-rcnn_teacher.py
_base_ = './faster-rcnn_student.py'

work_dir = 'work_dirs/demo/faster-rcnn_kd'
model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/faster-rcnn_teacher.py',
    teacher_ckpt='work_dirs/demo/faster-rcnn_teacher/iter_900.pth',
    distillers=dict(
        kd=dict(type='KD', teacher='neck',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
