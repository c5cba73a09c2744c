# Online (mutual) distillation, deep-mutual-learning style: a Faster R-CNN ResNet-50 and a
# ResNet-18 are trained together from ImageNet backbones, each with its own detection
# losses (the R50's logged as teacher_loss_*), and each distils the other's RoI class
# distribution (KD on the same RoIs, both directions). No pre-trained teacher is needed.
#   kd_from_teacher: the R18 (student) learns from the R50's scores on the R18's RoIs;
#   kd_from_student: the R50 (teacher) learns from the R18's scores on the R50's RoIs.
# The target side of each loss is detached, so each loss trains only its learner.
# The KD losses ramp up linearly over the first 500 iterations (the lr warm-up length),
# since both RoI heads start random. Both models are saved in the checkpoints:
#   python tools/test.py CONFIG CKPT            # evaluates the R18
#   python tools/test.py CONFIG CKPT --teacher  # evaluates the R50
_base_ = '../baselines/faster-rcnn_r18_fpn_1x_coco.py'

model = dict(
    _delete_=True,
    type='mmkd.MutualDistillationDetector',
    student={{_base_.model}},
    teacher=dict(
        cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
        backbone=dict(init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-0676ba61.pth'))),
    teacher_ckpt=None,
    distillers=dict(
        kd_from_teacher=dict(
            type='KD', direction='student<-teacher', teacher='neck', warmup_iters=500,
            loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0)),
        kd_from_student=dict(
            type='KD', direction='teacher<-student', teacher='neck', warmup_iters=500,
            loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
# mmkd's runner: the reliability hooks under any launcher (see configs/_base_/pairs).
runner_type = 'mmkd.DistillationRunner'
