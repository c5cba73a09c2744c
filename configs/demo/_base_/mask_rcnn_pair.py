# The demo's distillation pair: the teacher of ../mask-rcnn_teacher.py (trained by
# tools/demo.py, or first with python tools/train.py configs/demo/mask-rcnn_teacher.py) and
# the student of ../mask-rcnn_student.py, trained on the student's schedule.
# Demo method configs (../mask-rcnn_<method>.py) inherit this and add only their distillers.
_base_ = '../mask-rcnn_student.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    # configs/demo/mask-rcnn_teacher.py, absolute (fileDirname is this _base_ folder)
    teacher='{{ fileDirname }}'.rsplit('/', 1)[0] + '/mask-rcnn_teacher.py',
    teacher_ckpt='work_dirs/demo/mask-rcnn_teacher/iter_900.pth',
    distillers=dict())
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
