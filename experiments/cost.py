"""One benchmark case: the training-step cost of a distillation config, measured in this
process (``python -m experiments.cost CASE_JSON`` runs one in a fresh process, so
that its peak memory is its own; :mod:`.benchmark` drives the cases).

A case builds the model from its config with random weights (no downloads), preprocesses
one batch of generated images once, and times, per iteration: ``step`` (``model.loss``
with the teacher + backward + SGD step), ``student`` (the student alone, same update) and
``teacher`` (the teacher's backbone+neck forward under ``no_grad``, as the model runs it).
"""
import copy
import json
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional

from mmkd.config import detector_config, is_distillation_config


def _drop_downloads(model_cfg):
    """Random initialisation instead of pretrained backbones and teacher checkpoints."""
    model_cfg = copy.deepcopy(model_cfg)
    if is_distillation_config(model_cfg):
        for role in ('student', 'teacher'):
            detector = detector_config(model_cfg[role], role)
            detector.backbone.init_cfg = None
            model_cfg[role] = detector
        model_cfg.teacher_ckpt = None
    else:
        model_cfg.backbone.init_cfg = None
    return model_cfg


def _reset_peak_rss() -> bool:
    try:  # Linux: writing 5 resets VmHWM (the peak RSS) to the current RSS
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _proc_status_mb(key: str) -> Optional[float]:
    """A memory figure of this process from /proc/self/status (``VmHWM``, ``VmRSS``), in
    MB; None where the file or the key is missing."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(f'{key}:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    peak = _proc_status_mb('VmHWM')
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _rss_mb() -> Optional[float]:
    return _proc_status_mb('VmRSS')
    return None


def make_batch(model, image_size: int, batch_size: int, with_mask: bool, data_dir: str):
    """One preprocessed training batch of generated images (reused by every step)."""
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate

    from mmkd.data import make_shapes_dataset
    data = make_shapes_dataset(osp.join(data_dir, f'shapes_{image_size}'), num_train=batch_size,
                               num_val=1, image_size=image_size, seed=0)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
        dict(type='PackDetInputs'),
    ]
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=data['data_root'], ann_file=data['train_ann'],
        data_prefix=dict(img='train/'), metainfo=dict(classes=data['classes']),
        filter_cfg=dict(filter_empty_gt=False), pipeline=pipeline))
    batch = pseudo_collate([dataset[i] for i in range(batch_size)])
    batch = model.data_preprocessor(batch, training=True)
    return batch['inputs'], batch['data_samples']


def run_case(case: dict) -> dict:
    """Measure one (detector, method, pair, size, batch) case in this process."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    saved = {key: hub.runtime_info[key] for key in ('iter', 'epoch') if key in hub.runtime_info}
    # the losses at full weight: an iteration far past any warm-up (no end_iter in the configs)
    hub.update_info('iter', 10**6)
    hub.update_info('epoch', 0)
    try:
        return _run_case(case)
    finally:  # leave the message hub as it was (matters when run in-process, as in tests)
        for key in ('iter', 'epoch'):
            hub.runtime_info.pop(key, None)
        hub.update_info_dict(saved)


def _run_case(case: dict) -> dict:
    import torch
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS

    import mmkd  # noqa: F401

    if case.get('threads'):
        torch.set_num_threads(case['threads'])
    torch.manual_seed(0)
    init_default_scope('mmdet')
    device = torch.device(case['device'])
    cuda = device.type == 'cuda'
    cfg = Config.fromfile(case['config'])
    model = MODELS.build(_drop_downloads(cfg.model)).to(device)
    model.train()
    distill = hasattr(model, 'distillers')
    student = model.student if distill else model
    with_mask = student.roi_head.with_mask if hasattr(student, 'roi_head') else False
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                                momentum=0.9)
    optim_wrapper = OptimWrapper(optimizer)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, data_samples = make_batch(model, case['image_size'], case['batch_size'],
                                          with_mask, tmp)
    inputs = inputs.to(device)
    data_samples = [s.to(device) for s in data_samples]

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed(fn) -> float:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - start

    def full_step():
        loss, _ = model.parse_losses(model.loss(inputs, data_samples))
        optim_wrapper.update_params(loss)

    def student_step():
        loss, _ = model.parse_losses(student.loss(inputs, data_samples))
        optim_wrapper.update_params(loss)

    def teacher_forward():
        with torch.no_grad():
            model.run_teacher(model.teacher_inputs(inputs, data_samples))

    idle_rss = _rss_mb()
    resettable = _reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    times: Dict[str, List[float]] = dict(step=[], student=[], teacher=[])
    for i in range(case['warmup'] + case['iters']):
        sample = dict(step=timed(full_step))
        if distill:  # interleaved, so load changes on the machine hit all three alike
            sample['student'] = timed(student_step)
            sample['teacher'] = timed(teacher_forward)
        if i >= case['warmup']:
            for key, value in sample.items():
                times[key].append(value)
    result = dict(case, step_s=statistics.median(times['step']),
                  step_s_all=[round(t, 4) for t in times['step']],
                  peak_rss_mb=round(_peak_rss_mb(), 1), idle_rss_mb=idle_rss,
                  rss_peak_is_per_case=resettable)
    if distill:
        floor = statistics.median(times['student']) + statistics.median(times['teacher'])
        paired = [s / (a + t)
                  for s, a, t in zip(times['step'], times['student'], times['teacher'])]
        result.update(student_s=statistics.median(times['student']),
                      teacher_s=statistics.median(times['teacher']), floor_s=floor,
                      ratio=result['step_s'] / floor,
                      # per-iteration ratios: less sensitive to load drifting during a case
                      ratio_paired_median=statistics.median(paired))
    else:
        result.update(student_s=result['step_s'], teacher_s=None, floor_s=None, ratio=None)
    if cuda:
        result['cuda_max_allocated_mb'] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return result


if __name__ == '__main__':
    print('CASE_RESULT ' + json.dumps(run_case(json.loads(sys.argv[1]))), flush=True)
