# Composition: two distillation losses in one run, each with its own weight and schedule.
# Faster R-CNN ResNet-101 (teacher) -> ResNet-18 (student):
#   reviewkd: ReviewKD on FPN P2..P6 (weight 1.2 as in the paper, no warm-up), logged as
#             distill_reviewkd_loss;
#   kd:       KD on the RoI class logits (the teacher's box head on the student's RoIs),
#             weight 1.0, T=1, ramped up linearly over the first 500 iterations (the lr
#             warm-up length), logged as distill_kd_loss.
# Every distiller takes warmup_iters / warmup ('linear' | 'step') / end_iter / end_epoch.
_base_ = '../_base_/pairs/faster-rcnn_r101-r18.py'

model = dict(
    distillers=dict(
        reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=256,
                      loss=dict(type='HCLLoss', pool_sizes=(4, 2, 1), loss_weight=1.2)),
        kd=dict(type='KD', teacher='neck', warmup_iters=500, warmup='linear',
                loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))))
