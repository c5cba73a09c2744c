# The demo's one-stage distillation pair: the teacher of ../retinanet_teacher.py (trained by
# tools/demo.py --detector retinanet, or first with python tools/train.py
# configs/demo/retinanet_teacher.py) and the student of ../retinanet_student.py, trained on
# the student's schedule. Demo method configs (../retinanet_<method>.py) inherit this and add
# only their distillers.
_base_ = '../retinanet_student.py'

model = dict(
    _delete_=True,
    type='mmkd.DistillationDetector',
    student={{_base_.model}},
    # configs/demo/retinanet_teacher.py, absolute (fileDirname is this _base_ folder)
    teacher='{{ fileDirname }}'.rsplit('/', 1)[0] + '/retinanet_teacher.py',
    teacher_ckpt='work_dirs/demo/retinanet_teacher/iter_900.pth',
    distillers=dict())
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
