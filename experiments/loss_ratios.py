"""How large each distiller's loss is against the student's detection loss, at a config's
own loss weights, and how large the gradient it sends into the student's neck outputs is
against the detection loss's gradient there: over a few training batches, no update.

The first ratio is what ``loss_balance`` sets to its ``ratio`` (over its warm-up); the
second is what gradient-norm balancing would set. Run on configs whose weights were tuned,
it shows which of the two quantities the tuned weights keep alike across methods.

Usage:
    python tools/loss_ratios.py CONFIG [CONFIG ...] [--batches 4] [--iter N]
        [--out ratios.json] [--cfg-options KEY=VALUE ...]

A config written by a run (``<work_dir>/<config name>.py``, with the run's options merged)
measures that run's setting, teacher checkpoint and pretrained backbone included.
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from torch import Tensor

from mmkd.models.loss_balance import total_loss
from mmkd.registry import MODELS

from .cost import at_iteration
from .errors import InputValueError


def gradient_norm(loss: Tensor, features: Sequence[Tensor]) -> float:
    """The L2 norm, over all ``features`` together, of ``d loss / d features``; the graph
    is kept for the next loss."""
    grads = torch.autograd.grad(loss, list(features), retain_graph=True, allow_unused=True)
    squares = [g.double().pow(2).sum() for g in grads if g is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def measure(cfg: Config, batches: int = 4, iteration: Optional[int] = None,
            seed: int = 0) -> Dict[str, dict]:
    """Distiller name -> ``loss_ratio`` (sum of its losses / detection loss) and
    ``grad_ratio`` (norm of their gradient at the student's neck outputs / the detection
    loss's), each a ratio of sums over ``batches`` training batches of ``cfg``, with the
    losses' configured weights (``loss_balance`` is left out) at ``iteration`` of the
    schedule (default: its middle, past the usual warm-ups). The sums are in the entry too
    (``loss``, ``task_loss``, ``grad``, ``task_grad``). ``seed`` seeds the initialisation,
    the data order and the random transforms, so a measurement repeats exactly.

    Raises:
        InputValueError: ``cfg`` is not a distillation config, or its student has no neck.
    """
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    set_random_seed(seed)
    model_cfg = cfg.model.copy()
    if 'distillers' not in model_cfg:
        raise InputValueError(f'{cfg.filename} has no model.distillers: give a distillation '
                              'config (e.g. configs/fitnet/...).')
    model_cfg.pop('loss_balance', None)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    model = MODELS.build(model_cfg)
    if not getattr(model.student, 'with_neck', False):
        raise InputValueError(f'The student of {cfg.filename} has no neck, where the '
                              'gradients are compared.')
    model.init_weights()
    model.train()
    neck_outputs: List[Sequence[Tensor]] = []
    model.student.neck.register_forward_hook(lambda module, args, out: neck_outputs.append(out))
    loader = iter(Runner.build_dataloader(cfg.train_dataloader, seed=seed))

    names = list(model.distillers)
    sums = {name: dict(loss=0.0, grad=0.0) for name in names}
    task_loss_sum = task_grad_sum = 0.0
    with at_iteration(cfg.train_cfg.max_iters // 2 if iteration is None else iteration):
        for _ in range(batches):
            neck_outputs.clear()
            losses = model(**model.data_preprocessor(next(loader), True), mode='loss')
            distill = {name: {k: v for k, v in losses.items()
                              if k.startswith(f'distill_{name}_') and 'loss' in k}
                       for name in names}
            task = total_loss({k: v for k, v in losses.items()
                               if not k.startswith('distill_')})
            features = neck_outputs[0]
            task_loss_sum += float(task.detach())
            task_grad_sum += gradient_norm(task, features)
            for name in names:
                loss = total_loss(distill[name])
                sums[name]['loss'] += float(loss.detach())
                sums[name]['grad'] += gradient_norm(loss, features) if loss.requires_grad else 0.0
    return {name: dict(loss_ratio=s['loss'] / task_loss_sum, grad_ratio=s['grad'] / task_grad_sum,
                       task_loss=task_loss_sum, task_grad=task_grad_sum, **s)
            for name, s in sums.items()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+', help='distillation configs')
    parser.add_argument('--batches', type=int, default=4, help='training batches (default 4)')
    parser.add_argument('--iter', type=int, help='schedule iteration the distillers see '
                        '(default: the middle of the schedule)')
    parser.add_argument('--seed', type=int, default=0,
                        help='initialisation, data order and random transforms')
    parser.add_argument('--out', help='write the ratios as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override settings of every config, as tools/train.py')
    return parser.parse_args(argv)


def main(argv=None) -> Dict[str, Dict[str, dict]]:
    args = parse_args(argv)
    results = {}
    print('| config | distiller | loss / detection loss | gradient / detection gradient '
          '(neck outputs) |')
    print('| --- | --- | --- | --- |')
    for path in args.configs:
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(args.cfg_options)
        results[path] = measure(cfg, args.batches, args.iter, args.seed)
        for name, entry in results[path].items():
            print(f"| {osp.basename(path)} | {name} | {entry['loss_ratio']:.3g} | "
                  f"{entry['grad_ratio']:.3g} |", flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    return results
