"""Changes the demo makes to its configs: the schedule length, automatic loss weights and
the data (as ``--cfg-options`` of tools/train.py), or a user's dataset (as a config file written
to the work dir, since class names do not survive ``--cfg-options`` parsing)."""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from mmkd.config import detector_config, is_distillation_config
from mmkd.registry import MODELS
from . import ROOT
from .data import CocoFolder
from .settings import AUTO_WEIGHTS


def schedule_options(cfg: Config, iters: int, log_interval: Optional[int]) -> List[str]:
    """Options that change a demo config's schedule to ``iters`` iterations: the LR
    warm-up, the LR step (at 80 %), the checkpoint interval and the distillers' warm-ups
    scale with it (none when the config already has ``iters``, so the full demo runs the
    configs as written)."""
    options = []
    configured = cfg.train_cfg.max_iters
    if iters != configured:
        warmup = max(1, round(cfg.param_scheduler[0].end * iters / configured))
        options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                    f'param_scheduler.0.end={warmup}', f'param_scheduler.1.end={iters}',
                    f'param_scheduler.1.milestones=[{int(iters * 0.8)}]',
                    f'default_hooks.checkpoint.interval={iters}']
        distillers = cfg.model.get('distillers', {}) if is_distillation_config(cfg.model) else {}
        for name, distiller in distillers.items():
            if distiller.get('warmup_iters'):
                scaled = round(distiller.warmup_iters * iters / configured)
                options.append(f'model.distillers.{name}.warmup_iters={scaled}')
    if log_interval is not None:
        options += [f'default_hooks.logger.interval={log_interval}',
                    f'log_processor.window_size={log_interval}']
    return options


def auto_weight_options(cfg: Config, iters: int, pretrained: bool) -> List[str]:
    """Options that balance the losses of a demo distillation config of ``iters``
    iterations automatically (``model.loss_balance``, see :data:`.settings.AUTO_WEIGHTS`):
    with ``pretrained`` backbones the distillers' own ratio (written out, so the run's
    command line shows it; left to each distiller when they differ), the from-scratch
    ratio otherwise; the warm-up scaled from the configs' schedule to ``iters``. None for a
    config without distillers."""
    if not is_distillation_config(cfg.model):
        return []
    if pretrained:
        ratios = {MODELS.get(distiller['type']).balance_ratio
                  for distiller in cfg.model.get('distillers', {}).values()}
    else:
        ratios = {AUTO_WEIGHTS['ratio_from_scratch']}
    options = [f'model.loss_balance.ratio={ratios.pop()}'] if len(ratios) == 1 else []
    warmup = max(1, round(AUTO_WEIGHTS['warmup_iters'] * iters / cfg.train_cfg.max_iters))
    return options + [f'model.loss_balance.warmup_iters={warmup}']


def data_root_options(data_root: str) -> List[str]:
    """Options that point a demo config at the shapes data in ``data_root``."""
    root = data_root.rstrip('/') + '/'
    ann = root + 'annotations/instances_val.json'
    return [f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']


def set_num_classes(model, old: int, new: int) -> int:
    """Set, in place, every ``num_classes`` of a detector config that counts the dataset's
    ``old`` classes (box, mask and dense heads; not the RPN's single class) to ``new``.
    Returns how many were set."""
    if isinstance(model, (list, tuple)):
        return sum(set_num_classes(child, old, new) for child in model)
    if not isinstance(model, dict):
        return 0
    found = 0
    if model.get('num_classes') == old:
        model['num_classes'] = new
        found = 1
    return found + sum(set_num_classes(child, old, new) for child in model.values())


def _detector_on_classes(detector: dict, role: str, old: int, new: int, config: str) -> dict:
    detector = detector_config(detector, role)
    if not set_num_classes(detector, old, new):
        raise ValueError(f'No head of the {role} in {config} has num_classes={old} (the class '
                         'count of its dataset), so its class count cannot be changed.')
    return detector


def write_dataset_config(config: str, data: CocoFolder, out_file: str,
                         teacher_config: Optional[str] = None) -> str:
    """Write ``config`` as one standalone file that trains and evaluates on ``data``:
    its paths, class names, and the class count of every model (the teacher of a
    distillation config becomes ``teacher_config``, the teacher config written for the
    same data). Returns ``out_file``."""
    cfg = Config.fromfile(config)
    old = len(cfg.train_dataloader.dataset.metainfo['classes'])
    classes = list(data.classes)
    for loader, split in (('train_dataloader', data.train), ('val_dataloader', data.val),
                          ('test_dataloader', data.val)):
        cfg[loader].dataset.update(data_root=data.root, ann_file=split.ann_file,
                                   data_prefix=dict(img=split.img_dir + '/'),
                                   metainfo=dict(classes=classes))
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = data.val.ann_file
    # the config's own dataset variables, so that the file reads true
    cfg.data_root, cfg.metainfo = data.root + '/', dict(classes=classes)
    if is_distillation_config(cfg.model):
        if teacher_config is None:
            raise ValueError(f'{config} distils from a teacher: give the teacher config '
                             'written for the same dataset.')
        cfg.model.student = _detector_on_classes(cfg.model.student, 'student', old,
                                                 len(classes), config)
        cfg.model.teacher = dict(cfg_path=teacher_config)
    else:
        cfg.model = _detector_on_classes(cfg.model, 'model', old, len(classes), config)
    with open(out_file, 'w') as f:
        f.write(f'# Written by tools/demo.py: {osp.relpath(config, ROOT)} on the dataset in '
                f'{data.root}\n{cfg.pretty_text}')
    return out_file
