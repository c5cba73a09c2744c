"""Turn any mmkd or mmdet config into a small CPU run on generated data.

Used by the tests and benchmarks: the model architecture of backbones and necks is kept
as configured (that is what distillation touches); pretrained downloads and teacher
checkpoints are dropped, proposals, sampled RoIs and the RoI head's FC width are reduced,
and the dataset is replaced by a :func:`mmkd.data.make_shapes_dataset` one.
"""
import copy
import itertools
from typing import Optional, Union

from mmengine.config import Config, ConfigDict

from .models.distillation_detector import detector_config

_run_ids = itertools.count()


def small_detector(model: dict, num_classes: int, fc_channels: int = 256) -> ConfigDict:
    """A two-stage mmdet detector config shrunk for CPU runs (no downloads)."""
    model = copy.deepcopy(ConfigDict(model))
    model.backbone.init_cfg = None
    roi_head = model.get('roi_head')
    if roi_head is not None:
        roi_head.bbox_head.num_classes = num_classes
        if 'fc_out_channels' in roi_head.bbox_head:
            roi_head.bbox_head.fc_out_channels = fc_channels
        if roi_head.get('mask_head') is not None:
            roi_head.mask_head.num_classes = num_classes
    train_cfg, test_cfg = model.get('train_cfg'), model.get('test_cfg')
    if train_cfg is not None:
        if 'rpn_proposal' in train_cfg:
            train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
        if 'rpn' in train_cfg:
            train_cfg.rpn.sampler.num = 64
        if 'rcnn' in train_cfg:
            train_cfg.rcnn.sampler.num = 64
    if test_cfg is not None:
        if 'rpn' in test_cfg:
            test_cfg.rpn.update(nms_pre=300, max_per_img=100)
        if 'rcnn' in test_cfg:
            test_cfg.rcnn.max_per_img = 20
    return model


def small_model(model: dict, num_classes: int) -> ConfigDict:
    """:func:`small_detector` applied to a detector or to both detectors of a
    ``DistillationDetector`` (whose teacher checkpoint is dropped)."""
    model = copy.deepcopy(ConfigDict(model))
    if str(model.get('type', '')).split('.')[-1].endswith('DistillationDetector'):
        model.student = small_detector(detector_config(model.student, 'student'), num_classes)
        model.teacher = small_detector(detector_config(model.teacher, 'teacher'), num_classes)
        model.teacher_ckpt = None
        return model
    return small_detector(model, num_classes)


def _pipelines(image_size: int, with_mask: bool):
    train = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs'),
    ]
    test = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]
    return train, test


def _has_mask_head(model: ConfigDict) -> bool:
    detector = model.get('student', model)
    return detector.get('roi_head', {}).get('mask_head') is not None


def small_run_config(config: Union[str, Config], data: dict, work_dir: str,
                     max_iters: int = 2, batch_size: int = 2, image_size: int = 128,
                     val: bool = False, lr: float = 0.01,
                     with_mask: Optional[bool] = None) -> Config:
    """A config that trains ``max_iters`` iterations on the generated dataset ``data``.

    Args:
        config: config path or loaded Config (mmkd distillation or plain mmdet).
        data: the dict returned by :func:`mmkd.data.make_shapes_dataset`.
        work_dir: where logs and checkpoints go.
        val: also build the val loop and COCO evaluator (bbox, and segm with masks).
        with_mask: load instance masks; defaults to whether the model has a mask head.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    classes = tuple(data['classes'])
    cfg.model = small_model(cfg.model, len(classes))
    if with_mask is None:
        with_mask = _has_mask_head(cfg.model)
    train_pipeline, test_pipeline = _pipelines(image_size, with_mask)
    metainfo = dict(classes=classes)
    cfg.train_dataloader = dict(
        batch_size=batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='CocoDataset', data_root=data['data_root'], metainfo=metainfo,
                     ann_file=data['train_ann'], data_prefix=dict(img='train/'),
                     filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=max_iters if val else max_iters + 1)
    if val:
        metric = ['bbox', 'segm'] if with_mask else ['bbox']
        cfg.val_dataloader = dict(
            batch_size=batch_size, num_workers=0, persistent_workers=False, drop_last=False,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CocoDataset', data_root=data['data_root'], metainfo=metainfo,
                         ann_file=data['val_ann'], data_prefix=dict(img='val/'),
                         test_mode=True, pipeline=test_pipeline))
        cfg.val_evaluator = dict(type='CocoMetric', metric=metric, format_only=False,
                                 ann_file=f"{data['data_root']}/{data['val_ann']}")
        cfg.val_cfg = dict(type='ValLoop')
        cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
        cfg.test_cfg = dict(type='TestLoop')
    else:
        for key in ('val_dataloader', 'val_evaluator', 'val_cfg',
                    'test_dataloader', 'test_evaluator', 'test_cfg'):
            cfg[key] = None
    cfg.param_scheduler = []
    cfg.optim_wrapper = dict(type='OptimWrapper',
                             optimizer=dict(type='SGD', lr=lr, momentum=0.9, weight_decay=1e-4))
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=max_iters,
                                        by_epoch=False)
    cfg.log_processor = dict(type='LogProcessor', window_size=1, by_epoch=False)
    cfg.env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'),
                       dist_cfg=dict(backend='gloo'))
    cfg.randomness = dict(seed=0)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=16)
    cfg.load_from, cfg.resume = None, False
    cfg.work_dir = work_dir
    cfg.visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                          name=f'mmkd_small_run_{next(_run_ids)}')
    return cfg
