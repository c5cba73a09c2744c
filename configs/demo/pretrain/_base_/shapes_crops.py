# Backbone pretraining for the demo, as ImageNet pretraining is for real detectors: an
# mmpretrain ImageClassifier learns to tell object crops of the detection train split
# apart (one class per category, plus 'background' crops that hold no object), through
# mmpretrain's Runner. experiments.pretrain (or tools/pretrain_backbone.py) cuts the
# crops into `data_root` with the settings in `crop_data`, fills in the class count and
# runs this config; the detectors of ../pretrained/ then load the backbone's weights
# with init_cfg=dict(type='Pretrained', prefix='backbone.').
_base_ = 'mmpretrain::_base_/default_runtime.py'

# The backbones are mmdet's ResNet, built from mmpretrain's scope as 'mmdet.ResNet', so
# the checkpoint's keys are those of the detectors' backbones.
custom_imports = dict(imports=['mmdet.models'], allow_failed_imports=False)

# The crops come from a generated shapes set of their own (`source_data`, made by the stage
# in `crop_data.source_root`): as ImageNet is not COCO, the pretraining never sees the
# detectors' images, and it has 5x their train split's objects, which the classifier needs
# (cut from the detectors' 1000 train images it overfits at 82 % top-1 instead of 91 %).
# Every `val_every`-th image gives the held-out crops that measure the accuracy. A user's
# own data replaces the source (`source=` of experiments.pretrain.pretrain_backbone).
data_root = 'work_dirs/demo/pretrain/shapes_crops/'
source_data = dict(num_train=5000, num_val=10, image_size=128, max_objects=5, seed=7)
crop_data = dict(
    source_root='data/shapes_pretrain/',      # a COCO-format dataset (read only)
    ann_file='annotations/instances_train.json',
    img_dir='train/',
    size=32,                 # crops resized to size x size px
    context=0.25,            # square side = longest box side x (1 + context)
    background_per_image=1,  # crops overlapping no box by more than 10% of their area
    val_every=10)
num_classes = 4  # the categories + background; set from the crops by the stage

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmdet.ResNet', num_stages=4, out_indices=(3, ), style='pytorch',
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, init_cfg=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=num_classes,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))

# the detectors' normalisation (mmdet's DetDataPreprocessor in the demo configs)
data_preprocessor = dict(num_classes=num_classes, mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/train.txt',
                 data_prefix='', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/val.txt',
                 data_prefix='', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_iters = 3000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=20, end=max_iters)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
log_processor = dict(window_size=10, by_epoch=False)
randomness = dict(seed=0)
