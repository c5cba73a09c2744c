# ../mask-rcnn_student.py starting from its pretrained backbone (the weights of
# ../pretrain/resnet18-quarter.py, made by experiments.pretrain or
# python tools/pretrain_backbone.py configs/demo/pretrain/resnet18-quarter.py), loaded as
# ImageNet weights are: init_cfg Pretrained, prefix 'backbone.'. Same schedule otherwise.
_base_ = '../mask-rcnn_student.py'

work_dir = 'work_dirs/demo/pretrained/mask-rcnn_student'
model = dict(
    backbone=dict(init_cfg=dict(
        _delete_=True, type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/demo/pretrain/resnet18-quarter/backbone.pth')))
