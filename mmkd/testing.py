"""Turn any mmkd or mmdet config into a small CPU run on generated data.

Used by the tests and benchmarks: the model architecture of backbones and necks is kept
as configured (that is what distillation touches); pretrained downloads and teacher
checkpoints are dropped, heads are shrunk (class counts, dense heads' conv towers, RoI
heads' FC width, proposals, sampled RoIs) and the dataset is replaced by a
:func:`mmkd.data.make_shapes_dataset` one.
"""
import copy
import itertools
from typing import Optional, Union

from mmengine.config import Config, ConfigDict

from .config import detector_config, is_distillation_config, resolve_config_path

_run_ids = itertools.count()


def small_detector(model: dict, num_classes: int, fc_channels: int = 256,
                   head_channels: int = 64) -> ConfigDict:
    """Any mmdet detector config shrunk for CPU runs, without downloads.

    Backbone and neck architectures are kept (distillation works on them). Changed:
    pretrained weights (``init_cfg`` of type ``Pretrained``, ``pretrained=``) are dropped
    anywhere in the model, so every module gets its class's own initialisation; batch
    augments of the data preprocessor (multi-scale resizing) are dropped; every box/mask
    head gets ``num_classes``; the dense head (``bbox_head`` of one-stage detectors) keeps
    one stacked conv of ``head_channels``; RoI heads (one or a cascade of several) use FC
    layers of ``fc_channels``; proposals, sampled RoIs and pre-NMS candidates are reduced.
    """
    model = copy.deepcopy(ConfigDict(model))
    _drop_pretrained(model)
    preprocessor = model.get('data_preprocessor')
    if preprocessor is not None and preprocessor.get('batch_augments'):
        preprocessor.batch_augments = None
    dense_head = model.get('bbox_head')
    if dense_head is not None:
        dense_head.num_classes = num_classes
        if 'stacked_convs' in dense_head:
            dense_head.stacked_convs = 1
        if 'feat_channels' in dense_head:
            dense_head.feat_channels = head_channels
    roi_head = model.get('roi_head')
    if roi_head is not None:
        for bbox_head in _as_list(roi_head.bbox_head):
            bbox_head.num_classes = num_classes
            if 'fc_out_channels' in bbox_head:
                bbox_head.fc_out_channels = fc_channels
        for mask_head in _as_list(roi_head.get('mask_head')):
            mask_head.num_classes = num_classes
    train_cfg, test_cfg = model.get('train_cfg'), model.get('test_cfg')
    if train_cfg is not None:
        if 'rpn_proposal' in train_cfg:
            train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
        if 'rpn' in train_cfg:
            train_cfg.rpn.sampler.num = 64
        for stage in _as_list(train_cfg.get('rcnn')):
            stage.sampler.num = 64
    if test_cfg is not None:
        if 'rpn' in test_cfg:
            test_cfg.rpn.update(nms_pre=300, max_per_img=100)
        if 'rcnn' in test_cfg:
            test_cfg.rcnn.max_per_img = 20
        if 'nms_pre' in test_cfg:  # one-stage detectors: the dense head's test config
            test_cfg.update(nms_pre=100, max_per_img=20)
    return model


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _is_pretrained(init_cfg) -> bool:
    return any(isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
               for cfg in _as_list(init_cfg))


def _drop_pretrained(cfg) -> None:
    """Remove pretrained-weight loading from a model config, in place, at any depth."""
    if isinstance(cfg, dict):
        if _is_pretrained(cfg.get('init_cfg')):
            del cfg['init_cfg']
        if isinstance(cfg.get('pretrained'), str):
            cfg['pretrained'] = None
        values = cfg.values()
    elif isinstance(cfg, (list, tuple)):
        values = cfg
    else:
        return
    for value in values:
        _drop_pretrained(value)


def small_model(model: dict, num_classes: int) -> ConfigDict:
    """:func:`small_detector` applied to a detector or to both detectors of a
    ``DistillationDetector`` (whose teacher checkpoint is dropped)."""
    model = copy.deepcopy(ConfigDict(model))
    if is_distillation_config(model):
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
        config: config file, ``mmkd::<relative path>`` or loaded Config (mmkd distillation
            or plain mmdet).
        data: the dict returned by :func:`mmkd.data.make_shapes_dataset`.
        work_dir: where logs and checkpoints go.
        val: also build the val loop and COCO evaluator (bbox, and segm with masks).
        with_mask: load instance masks; defaults to whether the model has a mask head.
    """
    cfg = (Config.fromfile(resolve_config_path(config)) if isinstance(config, str)
           else copy.deepcopy(config))
    classes = tuple(data['classes'])
    cfg.model = small_model(cfg.model, len(classes))
    # mmengine's Runner passes a top-level data_preprocessor to the model: shrink it alike.
    if cfg.get('data_preprocessor') and cfg.data_preprocessor.get('batch_augments'):
        cfg.data_preprocessor.batch_augments = None
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
