"""Training throughput of ``tools/train.py`` itself (``tools/benchmark.py train``): the
Runner with its data loading, hooks and logging, as a real run has them, for a method's
config and for the plain student's, on generated data.

A case's config is the repository's (model as configured, random weights: pretrained
backbones and the teacher checkpoint dropped, no downloads) with the training data
replaced by generated images resized to the input size (their annotation file declares as
many categories as the model has classes, so mmkd's data checks pass with the heads as
configured; the images only hold instances of the first three), an iteration-based loop of
``warmup + iters`` iterations, no evaluation, no checkpoint, a log line per iteration, and
a small learning rate (random heads must not diverge within the run). The time per
iteration is the median of the Runner's logged ``time`` over the iterations after the
warm-up; ``data_time`` (waiting for the data loader) is reported beside it.
"""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List, Optional

from . import ROOT
from .report import markdown_table, number

DESCRIPTION = ("s/iter: the Runner's logged time per iteration of tools/train.py; ratio: to "
               "the plain student's")
TRAIN = osp.join(ROOT, 'tools', 'train.py')


def num_classes(model) -> int:
    """The largest ``num_classes`` anywhere in a model config (the detection heads')."""
    if isinstance(model, dict):
        own = model.get('num_classes')
        return max([own if isinstance(own, int) else 0]
                   + [num_classes(value) for value in model.values()])
    if isinstance(model, (list, tuple)):
        return max([num_classes(value) for value in model], default=0)
    return 0


def with_classes(data: dict, count: int) -> dict:
    """``data`` (a generated dataset) with a training annotation file that declares
    ``count`` categories: its own, then placeholders."""
    if count <= len(data['classes']):
        return data
    ann_file = data['train_ann'].replace('.json', f'_{count}_classes.json')
    with open(osp.join(data['data_root'], data['train_ann'])) as f:
        annotations = json.load(f)
    first = max(c['id'] for c in annotations['categories']) + 1
    annotations['categories'] += [dict(id=first + i, name=f'placeholder_{i}')
                                  for i in range(count - len(data['classes']))]
    with open(osp.join(data['data_root'], ann_file), 'w') as f:
        json.dump(annotations, f)
    return dict(data, train_ann=ann_file,
                classes=[c['name'] for c in annotations['categories']])


def run_config(case: dict, data: dict, work_dir: str):
    """The config of one throughput run (see the module docstring)."""
    from mmengine.config import Config

    from mmkd.config import detector_config, is_distillation_config
    from mmkd.testing import small_run_config
    from .cost import _drop_downloads, input_size
    cfg = Config.fromfile(case['config'])
    model = _drop_downloads(cfg.model)
    student = detector_config(model.student, 'student') if is_distillation_config(model) \
        else model
    iters = case['warmup'] + case['iters']
    run = small_run_config(cfg, with_classes(data, num_classes(student)), work_dir,
                           max_iters=iters, batch_size=case['batch_size'], lr=1e-4)
    run.model = model  # as configured, not shrunk
    width, height = input_size(case['image_size'])
    for step in run.train_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step.update(scale=(width, height), keep_ratio=False)
    run.train_dataloader.update(num_workers=2, persistent_workers=True)
    run.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters + 1,
                                        by_epoch=False, save_last=False)
    if case.get('teacher_precision') and 'teacher' in run.model:
        run.model.teacher_precision = case['teacher_precision']
    return run


def run_training(case: dict, runs_dir: str, env: dict) -> dict:
    """Train ``case`` with tools/train.py in a subprocess; its time per iteration."""
    from mmkd.data import make_shapes_dataset
    from .cost import input_size
    name = f"{case['detector']}_{case['method']}"
    work_dir = osp.join(runs_dir, name)
    os.makedirs(work_dir, exist_ok=True)
    side = min(input_size(case['image_size']))
    data = make_shapes_dataset(osp.join(runs_dir, f'shapes_{side}'), num_train=16, num_val=1,
                               image_size=side, seed=0)
    config = osp.join(work_dir, 'config.py')
    run_config(case, data, work_dir).dump(config)
    command = [sys.executable, TRAIN, config, '--work-dir', work_dir]
    if case.get('amp'):
        command.append('--amp')
    if case['device'] == 'cpu':  # tools/train.py trains on the GPU when there is one
        env = dict(env, CUDA_VISIBLE_DEVICES='')
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.run(command, cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        with open(osp.join(work_dir, 'train.log')) as f:
            tail = ''.join(f.readlines()[-15:])
        raise RuntimeError(f'tools/train.py failed (exit {proc.returncode}), '
                           f'{osp.join(work_dir, "train.log")}:\n{tail}')
    times, data_times = logged_times(work_dir, case['warmup'])
    return dict(case, sec_per_iter=statistics.median(times),
                data_time=statistics.median(data_times), measured=len(times),
                work_dir=work_dir)


def logged_times(work_dir: str, warmup: int):
    """The logged ``time`` and ``data_time`` of the iterations after ``warmup``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'No vis_data/scalars.json under {work_dir}.')
    times, data_times = [], []
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        for line in f:
            row = json.loads(line)
            if 'time' in row and row.get('iter', 0) > warmup:
                times.append(row['time'])
                data_times.append(row.get('data_time', 0.))
    if not times:
        raise ValueError(f'{work_dir}: no iteration logged after the {warmup} warm-up ones.')
    return times, data_times


def student_times(results: List[dict]) -> Dict[tuple, float]:
    """The plain student's s/iter per (detector, size, batch)."""
    return {(r['detector'], str(r['image_size']), r['batch_size']): r['sec_per_iter']
            for r in results if r['method'] == 'none' and 'error' not in r}


def results_table(results: List[dict]) -> str:
    from .benchmark import size_text
    student = student_times(results)
    header = ['detector', 'method', 'size', 'batch', 's/iter', 'data wait (s)',
              'ratio to student']
    rows = []
    for r in results:
        key = (r['detector'], str(r['image_size']), r['batch_size'])
        row = [r['detector'], r['method'], size_text(r['image_size']), str(r['batch_size'])]
        if 'error' in r:
            rows.append(row + ['failed: ' + r['error'].splitlines()[-1], '', ''])
            continue
        ratio: Optional[float] = (r['sec_per_iter'] / student[key]
                                  if key in student and r['method'] != 'none' else None)
        rows.append(row + [number(r['sec_per_iter']), number(r['data_time']),
                           number(ratio, 2)])
    return markdown_table(header, rows)


def summary(result: dict) -> str:
    return (f"{result['sec_per_iter']:.3f} s/iter (data wait {result['data_time']:.3f} s, "
            f"median of {result['measured']})")
