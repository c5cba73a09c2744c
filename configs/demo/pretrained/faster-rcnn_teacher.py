# ../faster-rcnn_teacher.py starting from its pretrained backbone (the weights of
# ../pretrain/resnet34-half.py, made by experiments.pretrain or
# python tools/pretrain_backbone.py configs/demo/pretrain/resnet34-half.py), loaded as
# ImageNet weights are: init_cfg Pretrained, prefix 'backbone.'. Same schedule otherwise.
_base_ = '../faster-rcnn_teacher.py'

work_dir = 'work_dirs/demo/pretrained/faster-rcnn_teacher'
model = dict(
    backbone=dict(init_cfg=dict(
        _delete_=True, type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/demo/pretrain/resnet34-half/backbone.pth')))
