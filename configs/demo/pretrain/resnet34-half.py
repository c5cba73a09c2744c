# Pretraining of the demo teacher's backbone (../faster-rcnn_teacher.py: ResNet-34 at
# half width, stages of 32/64/128/256 channels) on the shapes crops; see
# _base_/shapes_crops.py. Its checkpoint initialises ../pretrained/*-teacher.py.
_base_ = './_base_/shapes_crops.py'

work_dir = 'work_dirs/demo/pretrain/resnet34-half'

model = dict(backbone=dict(depth=34, base_channels=32), head=dict(in_channels=256))
