# The demo's distillation pair: the teacher of ../faster-rcnn_teacher.py (trained by
# tools/demo.py, or first with python tools/train.py configs/demo/faster-rcnn_teacher.py) and
# the student of ../faster-rcnn_student.py, trained on the student's schedule.
# Demo method configs (../faster-rcnn_<method>.py) inherit this and add only their distillers.
_base_ = '../faster-rcnn_student.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    # configs/demo/faster-rcnn_teacher.py, absolute (fileDirname is this _base_ folder)
    teacher='{{ fileDirname }}'.rsplit('/', 1)[0] + '/faster-rcnn_teacher.py',
    teacher_ckpt='work_dirs/demo/faster-rcnn_teacher/iter_900.pth',
    distillers=dict())
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
