"""Turn any mmkd or mmdet config into a small CPU run on generated data.

Used by the tests and benchmarks: the model architecture of backbones and necks is kept
as configured (that is what distillation touches); pretrained downloads and teacher
checkpoints are dropped, heads are shrunk (class counts, dense heads' conv towers, RoI
heads' FC width, proposals, sampled RoIs, query counts, cascade stages) and the dataset is
replaced by a :func:`mmkd.data.make_shapes_dataset` one, with instance masks where a head
trains on them, without the hooks that work on the config's own dataset.
"""
import copy
import itertools
from typing import Iterator, List, Optional, Union

from mmengine.config import Config, ConfigDict

from .config import detector_config, is_distillation_config, resolve_config_path

_run_ids = itertools.count()


def small_detector(model: dict, num_classes: int, fc_channels: int = 256,
                   head_channels: int = 64, num_queries: int = 20,
                   max_stages: int = 3) -> ConfigDict:
    """Any mmdet detector config shrunk for CPU runs, without downloads.

    Backbone and neck architectures are kept (distillation works on them). Changed:
    pretrained weights (``init_cfg`` of type ``Pretrained``, ``pretrained=``) are dropped
    anywhere in the model, so every module gets its class's own initialisation; batch
    augments of the data preprocessor (multi-scale resizing) are dropped; every head that
    names a class count gets ``num_classes`` (see :func:`_set_num_classes`); the dense head
    (``bbox_head`` of one-stage detectors) keeps one stacked conv of ``head_channels``; RoI
    heads (one or a cascade of several) use FC layers of ``fc_channels``; proposals,
    sampled RoIs and pre-NMS candidates are reduced; query-based detectors use at most
    ``num_queries`` queries (see :func:`_cap_queries`); cascades keep at most
    ``max_stages`` stages (see :func:`_cap_stages`).
    """
    model = copy.deepcopy(ConfigDict(model))
    _drop_pretrained(model)
    preprocessor = model.get('data_preprocessor')
    if preprocessor is not None and preprocessor.get('batch_augments'):
        preprocessor.batch_augments = None
    for head in _class_heads(model):
        _set_num_classes(head, num_classes)
    dense_head = model.get('bbox_head')
    if dense_head is not None:
        if 'stacked_convs' in dense_head:
            dense_head.stacked_convs = 1
        if 'feat_channels' in dense_head:
            dense_head.feat_channels = head_channels
    roi_head = model.get('roi_head')
    if roi_head is not None:
        for bbox_head in _as_list(roi_head.bbox_head):
            if 'fc_out_channels' in bbox_head:
                bbox_head.fc_out_channels = fc_channels
    _cap_queries(model, num_queries)
    _cap_stages(model, max_stages)
    train_cfg, test_cfg = model.get('train_cfg'), model.get('test_cfg')
    if train_cfg is not None:
        if 'rpn_proposal' in train_cfg:
            train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
        # Query-based cascades (Sparse R-CNN, QueryInst) have no RPN and sample no RoIs.
        for stage in [train_cfg.get('rpn')] + _as_list(train_cfg.get('rcnn')):
            if stage is not None and 'num' in stage.get('sampler', {}):
                stage.sampler.num = 64
    if test_cfg is not None:
        if test_cfg.get('rpn') is not None:
            test_cfg.rpn.update(nms_pre=300, max_per_img=100)
        if 'rcnn' in test_cfg:
            test_cfg.rcnn.max_per_img = 20
        if 'nms_pre' in test_cfg:  # one-stage detectors: the dense head's test config
            test_cfg.update(nms_pre=100, max_per_img=20)
        # DETRs and MaskFormers keep the top-k of queries x classes, fewer with fewer
        # queries (see _cap_queries).
        for key in ('max_per_img', 'max_per_image'):
            if key in test_cfg:
                test_cfg[key] = min(test_cfg[key], 20)
        if 'panoptic_on' in test_cfg:  # instances only: see _set_num_classes
            test_cfg.update(panoptic_on=False, semantic_on=False, instance_on=True)
    return model


def _class_heads(model: ConfigDict) -> List[ConfigDict]:
    """The heads of a detector config that may classify: every top-level ``*_head``
    (dense, mask and panoptic heads) but the RPN's, whose one class is "object", and
    the box and mask heads of an RoI head, one per stage in cascades."""
    heads = []
    for key, value in model.items():
        if key == 'roi_head' and value is not None:
            heads += _as_list(value.get('bbox_head')) + _as_list(value.get('mask_head'))
        elif key.endswith('_head') and key != 'rpn_head' and value is not None:
            heads.append(value)
    return heads


def _set_num_classes(head: ConfigDict, num_classes: int) -> None:
    """Make ``head`` predict ``num_classes`` classes, in place, if it names a class count.

    Panoptic heads (MaskFormer, Mask2Former) count thing and stuff classes: the generated
    dataset has instances only, so all its classes are things. Their per-class loss
    weights (one per class, then "no object") are rebuilt for the new classes, each class
    weighted as the first one was.
    """
    if 'num_things_classes' in head:
        head.update(num_things_classes=num_classes, num_stuff_classes=0)
    elif 'num_classes' in head:
        head.num_classes = num_classes
    class_weight = head.get('loss_cls', {}).get('class_weight')
    if isinstance(class_weight, (list, tuple)):
        head.loss_cls.class_weight = [class_weight[0]] * num_classes + [class_weight[-1]]


def _cap_stages(model: ConfigDict, max_stages: int) -> None:
    """Keep the first ``max_stages`` stages of a cascade RoI head, in place.

    Cascade R-CNN and HTC have three stages and are left as they are; the query-based
    cascades (Sparse R-CNN, QueryInst) refine over six, each a dynamic-conv and attention
    head (and mask head) that costs seconds per step on a CPU.
    """
    roi_head = model.get('roi_head')
    if roi_head is None or roi_head.get('num_stages', 0) <= max_stages:
        return
    roi_head.num_stages = max_stages
    roi_head.stage_loss_weights = roi_head.stage_loss_weights[:max_stages]
    for key in ('bbox_roi_extractor', 'bbox_head', 'mask_roi_extractor', 'mask_head'):
        if isinstance(roi_head.get(key), (list, tuple)):  # else shared by all stages
            roi_head[key] = roi_head[key][:max_stages]
    stages = (model.get('train_cfg') or {}).get('rcnn')
    if isinstance(stages, (list, tuple)):
        model.train_cfg.rcnn = stages[:max_stages]


QUERY_COUNT_KEYS = ('num_queries', 'num_proposals', 'num_dn_queries')


def _cap_queries(cfg, num_queries: int) -> None:
    """Cap the query counts of query-based detectors at ``num_queries``, in place, at any
    depth: DETR-style ``num_queries`` (also MaskFormer heads'), Sparse R-CNN's and
    QueryInst's ``num_proposals`` and DINO's denoising ``num_dn_queries``.

    Two-stage DETRs (DINO, DDQ, two-stage Deformable DETR) pick their queries as the
    top-k of the encoder's positions, which a small image has fewer of than the
    hundreds of queries configured (85 at 64 px on strides 8..64); the matching and the
    attention over queries also cost time on a CPU.
    """
    for node in _config_dicts(cfg):
        for key in QUERY_COUNT_KEYS:
            if isinstance(node.get(key), int):
                node[key] = min(node[key], num_queries)


def _config_dicts(cfg) -> Iterator[dict]:
    """Every dict of a config, at any depth (in dicts, lists and tuples), parents before
    their children; a dict may be changed in place before its children are visited."""
    if isinstance(cfg, dict):
        yield cfg
        children = list(cfg.values())
    elif isinstance(cfg, (list, tuple)):
        children = cfg
    else:
        return
    for child in children:
        yield from _config_dicts(child)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _is_pretrained(init_cfg) -> bool:
    return any(isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
               for cfg in _as_list(init_cfg))


def _drop_pretrained(cfg) -> None:
    """Remove pretrained-weight loading from a model config, in place, at any depth."""
    for node in _config_dicts(cfg):
        if _is_pretrained(node.get('init_cfg')):
            del node['init_cfg']
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None


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


MASK_KEYS = ('mask_head', 'loss_mask')


def _trains_on_masks(cfg) -> bool:
    """Whether a model config has a head trained on instance masks, at any depth: a
    ``mask_head`` (Mask R-CNN's and cascades' RoI heads, SOLO, CondInst, YOLACT) or a
    ``loss_mask`` (RTMDet-Ins's dense head, MaskFormer and Mask2Former's panoptic head,
    every mask head's own loss). For a distillation config, student or teacher."""
    return any(node.get(key) is not None for node in _config_dicts(cfg) for key in MASK_KEYS)


# Hooks that work on the dataset of their config, which a small run replaces.
DATASET_HOOKS = (
    'YOLOXModeSwitchHook',  # switches MultiImageMixDataset's mosaic and mixup off
)


def _hooks_for_generated_data(hooks: list) -> list:
    """``hooks`` without those that need the config's own dataset (DATASET_HOOKS)."""
    return [hook for hook in hooks if hook.get('type') not in DATASET_HOOKS]


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
        with_mask: load instance masks; defaults to whether the model has a head trained
            on them (see :func:`_trains_on_masks`).
    """
    cfg = (Config.fromfile(resolve_config_path(config)) if isinstance(config, str)
           else copy.deepcopy(config))
    classes = tuple(data['classes'])
    cfg.model = small_model(cfg.model, len(classes))
    # mmengine's Runner passes a top-level data_preprocessor to the model: shrink it alike.
    if cfg.get('data_preprocessor') and cfg.data_preprocessor.get('batch_augments'):
        cfg.data_preprocessor.batch_augments = None
    if with_mask is None:
        with_mask = _trains_on_masks(cfg.model)
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
    if cfg.get('custom_hooks'):
        cfg.custom_hooks = _hooks_for_generated_data(cfg.custom_hooks)
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
