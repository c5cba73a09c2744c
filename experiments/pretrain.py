"""Backbone pretraining, the demo's stand-in for ImageNet weights.

Real detectors start from a backbone pretrained on image classification; the demo's
backbones (mmdet ResNets of reduced width) have no such weights, so this stage makes them
the same way: an mmpretrain ``ImageClassifier`` (the detector's very backbone, a global
average pooling neck and a linear head) learns to classify object crops cut from a
generated shapes set of its own (five times the detection train split, never its images;
or a user's train split), through mmpretrain's own Runner and a config of
``configs/demo/pretrain/``. The detectors then load the classifier's checkpoint with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``, the path a
user's ImageNet checkpoint takes (``configs/demo/pretrained/``).

Why crops and a background class: the detector must recognise each object (the crop's
category) and tell objects from clutter (the background crops, which hold only the noisy
texture and distractor strokes), at the scale its FPN sees them. Whole-image multi-label
classification would mostly learn which shapes are present in a busy image, a weaker
signal for boxes.

Both steps are cached: the crops in their folder (``settings.json``), the pretraining in
its work dir (``pretrain_stage.json``); a rerun with the same settings reuses them.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config

from mmkd.checkpoint import load_checkpoint_file, load_matching_weights
from .catalog import pretraining_detectors
from .data import make_shapes_data
from .errors import InputNotFoundError, InputValueError
from .logs import last_checkpoint
from .machine import subprocess_env
from .stages import fresh_dir, run_logged

BACKGROUND = 'background'
CROPS_STAMP = 'settings.json'
STAGE_RECORD = 'pretrain_stage.json'
CHECKPOINT_NAME = 'backbone.pth'
PREFIX = 'backbone.'
# A background crop may overlap boxes by at most this share of its own area.
MAX_BACKGROUND_OVERLAP = 0.1


# ----------------------------------------------------------------------------- crops
def _file_digest(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()[:16]


def _square(box: Sequence[float], context: float) -> Tuple[float, float, float]:
    """``(x0, y0, side)`` of the square centred on an ``[x, y, w, h]`` box whose side is
    the box's longest side plus ``context`` of it."""
    x, y, w, h = box
    side = max(w, h) * (1 + context)
    return x + w / 2 - side / 2, y + h / 2 - side / 2, side


def _cut(image: np.ndarray, x0: float, y0: float, side: float, size: int) -> np.ndarray:
    """The ``side`` x ``side`` square at ``(x0, y0)`` resized to ``size`` px; parts
    outside the image repeat its border."""
    x0, y0, side = int(round(x0)), int(round(y0)), max(int(round(side)), 2)
    height, width = image.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = image[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def _overlap(x0: float, y0: float, side: float, boxes: np.ndarray) -> float:
    """The largest share of the square's area that one of ``boxes`` (N, 4 xywh) covers."""
    if not len(boxes):
        return 0.0
    iw = np.minimum(x0 + side, boxes[:, 0] + boxes[:, 2]) - np.maximum(x0, boxes[:, 0])
    ih = np.minimum(y0 + side, boxes[:, 1] + boxes[:, 3]) - np.maximum(y0, boxes[:, 1])
    return float((np.clip(iw, 0, None) * np.clip(ih, 0, None)).max() / side ** 2)


def make_crop_dataset(root: str, source_root: str, ann_file: str, img_dir: str,
                      size: int = 32, context: float = 0.25, background_per_image: int = 1,
                      val_every: int = 10, seed: int = 0) -> Dict:
    """Cut a classification dataset from a COCO-format detection split.

    Every box (not crowd) gives a square crop labelled with its category; every image
    gives ``background_per_image`` squares of an object crop's size that no box covers by
    more than 10 % of their area, labelled ``'background'``. Crops are resized to
    ``size`` px and written as ``root/{train,val}/<class>/<image id>_<n>.png`` with
    mmpretrain annotation files ``root/meta/{train,val}.txt`` (``path label`` lines); the
    crops of every ``val_every``-th image form the held-out ``val`` split (whole images,
    so no object is in both splits). A dataset made with the same settings from the same
    annotation file is reused.

    Returns:
        dict: ``data_root``, ``classes`` (the categories in file order, then
        ``'background'``), ``num_train`` and ``num_val`` crops, ``digest`` (of the settings
        and the annotation file).

    Raises:
        InputNotFoundError: the annotation file or an image is missing.
        InputValueError: ``root`` is inside the source dataset, or it holds other files;
            the file has no usable box.
    """
    root, source_root = osp.abspath(root), osp.abspath(source_root)
    ann_path = osp.join(source_root, ann_file)
    if not osp.isfile(ann_path):
        raise InputNotFoundError(f'The crops are cut from {ann_path}, which does not exist: '
                                 'make the dataset first (python tools/make_shapes_data.py '
                                 'for the demo data) or set crop_data.source_root.')
    if osp.commonpath([root, source_root]) == source_root:
        raise InputValueError(f'The crop folder {root} is inside the source dataset '
                              f'{source_root}, which is never written: choose a folder in the '
                              'work dir (data_root of the pretraining config).')
    settings = dict(source=ann_path, source_digest=_file_digest(ann_path), img_dir=img_dir,
                    size=size, context=context, background_per_image=background_per_image,
                    val_every=val_every, seed=seed)
    stamp = osp.join(root, CROPS_STAMP)
    if osp.isfile(stamp):
        with open(stamp) as f:
            made = json.load(f)
        if made['settings'] == settings:
            return made['description']
        shutil.rmtree(root)
    elif osp.isdir(root) and os.listdir(root):
        raise InputValueError(f'{root} holds files that are not a crop dataset made by this '
                              'stage; choose a new or empty folder for the crops.')

    with open(ann_path) as f:
        coco = json.load(f)
    categories = [c['id'] for c in coco['categories']]
    classes = [c['name'] for c in coco['categories']]
    classes.append(BACKGROUND if BACKGROUND not in classes else f'_{BACKGROUND}')
    boxes_of: Dict[int, list] = {}
    for ann in coco['annotations']:
        if not ann.get('iscrowd') and min(ann['bbox'][2:]) >= 2:
            boxes_of.setdefault(ann['image_id'], []).append(ann)
    sides = [_square(a['bbox'], context)[2] for anns in boxes_of.values() for a in anns]
    if not sides:
        raise InputValueError(f'{ann_path} has no usable boxes to cut crops from.')

    rng = np.random.default_rng(seed)
    lines: Dict[str, List[str]] = dict(train=[], val=[])
    for index, info in enumerate(sorted(coco['images'], key=lambda i: i['id'])):
        path = osp.join(source_root, img_dir, info['file_name'])
        image = cv2.imread(path)
        if image is None:
            raise InputNotFoundError(f'Cannot read image {path} listed in {ann_path}.')
        split = 'val' if index % val_every == val_every - 1 else 'train'
        anns = boxes_of.get(info['id'], [])
        crops = [(categories.index(a['category_id']), _square(a['bbox'], context))
                 for a in anns]
        boxes = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
        height, width = image.shape[:2]
        for _ in range(background_per_image):
            for _attempt in range(20):
                side = min(float(rng.choice(sides)), width, height)
                x0, y0 = rng.uniform(0, width - side), rng.uniform(0, height - side)
                if _overlap(x0, y0, side, boxes) <= MAX_BACKGROUND_OVERLAP:
                    crops.append((len(classes) - 1, (x0, y0, side)))
                    break
        for n, (label, square) in enumerate(crops):
            name = osp.join(split, classes[label], f'{info["id"]:06d}_{n}.png')
            os.makedirs(osp.dirname(osp.join(root, name)), exist_ok=True)
            cv2.imwrite(osp.join(root, name), _cut(image, *square, size))
            lines[split].append(f'{name} {label}')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, split_lines in lines.items():
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(split_lines) + '\n')
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    description = dict(data_root=root, classes=classes, num_train=len(lines['train']),
                       num_val=len(lines['val']), digest=digest)
    with open(stamp, 'w') as f:
        json.dump(dict(settings=settings, description=description), f)
    return description


# ----------------------------------------------------------------------------- checks
def _backbone_config(detector_config: str) -> dict:
    from mmkd.config import student_config
    return student_config(Config.fromfile(detector_config).model).backbone


def check_backbone_checkpoint(detector_config: str, checkpoint: str,
                              prefix: str = PREFIX) -> None:
    """Load ``checkpoint``'s ``prefix`` weights into the backbone of ``detector_config``
    (its student's, for a distillation config) with strict key and shape matching.

    mmengine's ``Pretrained`` init only warns about keys that do not match and leaves
    those weights random; this is the check that makes a mismatch an error.

    Raises:
        ValueError: the checkpoint has no ``prefix`` weights, or missing, unexpected or
            shape-mismatched keys (listed).
    """
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    state_dict = load_checkpoint_file(checkpoint, 'Pretrained backbone checkpoint')
    state_dict = state_dict.get('state_dict', state_dict)
    weights = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not weights:
        raise ValueError(f"Pretrained backbone checkpoint '{checkpoint}' has no weights "
                         f"named '{prefix}*' (its keys start with "
                         f"{sorted({k.split('.')[0] for k in state_dict})[:5]}): set the "
                         "init_cfg prefix to the backbone's.")
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MODELS.build(_backbone_config(detector_config))
    mismatch = load_matching_weights(backbone, weights)
    if mismatch:
        raise ValueError(
            f"Pretrained backbone checkpoint '{checkpoint}' does not fit the backbone of "
            f'{detector_config}: {mismatch}. mmengine would leave those weights random. '
            'Pretrain this backbone (the pretraining config must build the same depth and '
            'width), or point init_cfg at its checkpoint.')


def pretrained_options(checkpoint: str, module: str = 'model.backbone') -> List[str]:
    """``--cfg-options`` that make ``module`` (``model.backbone``, or
    ``model.student.backbone`` of a distillation config) start from ``checkpoint``."""
    key = f'{module}.init_cfg'
    return [f'{key}._delete_=True', f'{key}.type=Pretrained',
            f'{key}.checkpoint={checkpoint}', f'{key}.prefix={PREFIX}']


# ----------------------------------------------------------------------------- the stage
def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _follow_max_iters(cfg: Config) -> None:
    """Fit the evaluation, checkpoint and learning-rate schedule to
    ``train_cfg.max_iters``, so that overriding it alone changes the run's length."""
    iters = cfg.train_cfg.max_iters
    if iters < 2:
        raise InputValueError(f'train_cfg.max_iters={iters}: the pretraining needs at least 2 '
                              'iterations (a warm-up and a cosine decay).')
    warmup, cosine = cfg.param_scheduler
    warmup.end = max(1, min(warmup.end, iters // 5))
    cosine.update(begin=warmup.end, end=iters)
    cfg.train_cfg.val_interval = iters
    cfg.default_hooks.checkpoint.interval = iters


def _make_source(root: str, settings: dict) -> None:
    """Generate the shapes set the crops are cut from (reused when made with ``settings``).

    Raises:
        InputValueError: ``root`` holds a shapes set generated with other settings (another
            pretraining's, or the detectors' data): it is not regenerated over.
    """
    stamp = osp.join(root, 'settings.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            made = json.load(f)
        if made != settings:
            raise InputValueError(
                f'{root} holds a shapes dataset generated with {made}, not with the '
                f"config's source_data {settings}: to cut the crops from it as it is, set "
                'source_data=None; to generate a new source, choose another '
                'crop_data.source_root (or delete the folder).')
    make_shapes_data(root, **settings)


def _resolved_config(config: str, work_dir: Optional[str], options: Optional[dict],
                     crop_root: Optional[str], source: Optional[dict]
                     ) -> Tuple[Config, dict]:
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    _follow_max_iters(cfg)
    if 'crop_data' not in cfg:
        raise InputValueError(f"{config} has no 'crop_data' dict: use a config under "
                              'configs/demo/pretrain/ (they inherit _base_/shapes_crops.py).')
    crop_data = dict(cfg.crop_data, **(source or {}))
    crop_data['source_root'] = osp.abspath(crop_data['source_root'])
    if source:  # the user's dataset replaces the generated one
        cfg.source_data = None
    elif cfg.get('source_data'):
        _make_source(crop_data['source_root'], dict(cfg.source_data))
    crops = make_crop_dataset(crop_root or cfg.data_root, **crop_data)
    cfg.crop_data = crop_data  # what was cut, as the run's record
    cfg.work_dir = osp.abspath(work_dir or cfg.work_dir)
    cfg.data_root = crops['data_root']
    num_classes, metainfo = len(crops['classes']), dict(classes=crops['classes'])
    cfg.model.head.num_classes = num_classes
    cfg.data_preprocessor.num_classes = num_classes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.update(data_root=crops['data_root'], metainfo=metainfo)
    return cfg, crops


def _accuracy(work_dir: str) -> Tuple[float, float]:
    """Top-1 accuracy (percent) of the run's last evaluation, and the median seconds per
    training iteration, from mmengine's ``vis_data/scalars.json``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'No vis_data/scalars.json under {work_dir}: the run did not '
                                'log (see its train.log).')
    accuracy, times = None, []
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        for line in f:
            row = json.loads(line)
            if 'accuracy/top1' in row:
                accuracy = row['accuracy/top1']
            elif 'time' in row:
                times.append(row['time'])
    if accuracy is None:
        raise ValueError(f'The run in {work_dir} logged no accuracy (no val at the end?).')
    return accuracy, float(np.median(times)) if times else None


def _train(cfg: Config, threads: Optional[int], verbose: bool) -> None:
    """Run mmpretrain's Runner on ``cfg`` in a subprocess (mmpretrain's default scope
    stays out of this process), logging to ``train.log``."""
    fresh_dir(cfg.work_dir)
    config_file = osp.join(cfg.work_dir, 'pretrain_config.py')
    cfg.dump(config_file)
    run_logged([sys.executable, '-m', __name__, config_file], cfg.work_dir,
               subprocess_env(threads), verbose, 'Backbone pretraining')


def pretrain_backbone(config: str, work_dir: Optional[str] = None,
                      options: Optional[dict] = None, crop_root: Optional[str] = None,
                      source: Optional[dict] = None, retrain: bool = False,
                      threads: Optional[int] = None, verbose: bool = False,
                      detectors: Optional[Sequence[str]] = None) -> Dict:
    """Pretrain a detector backbone by classifying object crops; cached.

    Args:
        config: a config of ``configs/demo/pretrain/``.
        work_dir: where the run goes (default: the config's ``work_dir``).
        options: config overrides (``--cfg-options`` style keys), e.g.
            ``{'train_cfg.max_iters': 3}``.
        crop_root: the crop folder (default: the config's ``data_root``).
        source: overrides of the config's ``crop_data`` source (``source_root``,
            ``ann_file``, ``img_dir``), e.g. a user's COCO-format dataset; without it the
            config's ``source_data`` shapes set is generated (once) and cut.
        retrain: train even if a finished run with the same settings is there.
        threads: CPU threads of the training process.
        detectors: the detector configs whose backbone the checkpoint must fit (default:
            :func:`.catalog.pretraining_detectors` of ``config``); checked on a reused
            run too, and not part of what a run must match to be reused.

    Returns:
        dict: ``checkpoint`` (the classifier's weights, ``backbone.*`` among them, a file
        a detector's ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` loads),
        ``accuracy`` (top-1 %, held-out crops), ``seconds`` (of training and evaluation),
        ``sec_per_iter``, ``iters``, ``crops`` (the crop dataset's description),
        ``reused``.

    Raises:
        ValueError: the checkpoint does not fit the backbone of one of ``detectors``
            (missing, unexpected or shape-mismatched keys, listed).
    """
    if detectors is None:
        detectors = pretraining_detectors(config)
    cfg, crops = _resolved_config(config, work_dir, options, crop_root, source)
    key = dict(config=_digest(cfg.to_dict()), crops=crops['digest'])
    record_path = osp.join(cfg.work_dir, STAGE_RECORD)
    if not retrain and osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('key') == key and osp.isfile(record['checkpoint']):
            for detector in detectors:
                check_backbone_checkpoint(detector, record['checkpoint'])
            return dict(record, reused=True)
    start = time.perf_counter()
    _train(cfg, threads, verbose)
    seconds = time.perf_counter() - start
    checkpoint = osp.join(cfg.work_dir, CHECKPOINT_NAME)
    runner_checkpoint = last_checkpoint(cfg.work_dir)
    if runner_checkpoint is None:
        raise FileNotFoundError(f'The pretraining in {cfg.work_dir} saved no checkpoint '
                                '(see its train.log).')
    accuracy, sec_per_iter = _accuracy(cfg.work_dir)
    # The weights alone, as a model-zoo file: no optimizer state or message hub.
    weights = load_checkpoint_file(runner_checkpoint)['state_dict']
    meta = dict(config=osp.abspath(config), classes=crops['classes'],
                accuracy_top1=accuracy, iters=cfg.train_cfg.max_iters)
    torch.save(dict(state_dict=weights, meta=meta), checkpoint)
    for detector in detectors:
        check_backbone_checkpoint(detector, checkpoint)
    record = dict(key=key, checkpoint=checkpoint, accuracy=accuracy,
                  seconds=round(seconds, 1), sec_per_iter=sec_per_iter,
                  iters=cfg.train_cfg.max_iters, crops=crops,
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    with open(record_path, 'w') as f:
        json.dump(record, f)
    return dict(record, reused=False)


def _run(config_file: str) -> None:
    """The training process: mmpretrain's Runner on a resolved pretraining config."""
    from mmengine.runner import Runner
    Runner.from_cfg(Config.fromfile(config_file)).train()


if __name__ == '__main__':
    _run(sys.argv[1])
