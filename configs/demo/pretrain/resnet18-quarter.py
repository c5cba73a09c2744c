# Pretraining of the demo student's backbone (../faster-rcnn_student.py: ResNet-18 at a
# quarter width, stages of 16/32/64/128 channels) on the shapes crops; see
# _base_/shapes_crops.py. Its checkpoint initialises ../pretrained/*-student.py.
_base_ = './_base_/shapes_crops.py'

work_dir = 'work_dirs/demo/pretrain/resnet18-quarter'

model = dict(backbone=dict(depth=18, base_channels=16), head=dict(in_channels=128))
