"""One benchmark case: the training-step cost of a distillation config, measured in this
process (``python -m experiments.cost CASE_JSON`` runs one in a fresh process, so
that its peak memory is its own; :mod:`.benchmark` drives the cases).

A case builds the model from its config with random weights (no downloads), preprocesses
one batch of generated images once, and times, per iteration: ``step`` (``model.loss``
with the teacher + backward + SGD step), ``student`` (the student alone, same update) and
``teacher`` (the teacher's backbone+neck forward under ``no_grad``, as the model runs it).
After the timed iterations it counts the aten operators each of the three dispatches
(:func:`count_aten_ops`): a measure of launch overhead that depends neither on the
machine's speed nor on its load.

``floor_every`` (default 1) times the floor (student step and teacher forward) only at
every that many measured iterations, to shorten long runs on a quiet machine.

``amp`` runs the steps in mixed precision as ``--amp`` trains: mmengine's
``AmpOptimWrapper`` (float16 autocast, dynamic loss scaling) on CUDA; on the CPU, which
that wrapper refuses, bfloat16 autocast (float32's range: no loss scaling). The teacher's
forward runs under the same autocast, and under ``teacher_precision``'s where the config
sets it.
"""
import contextlib
import copy
import json
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

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


def count_aten_ops(fn: Callable[[], object]) -> int:
    """The aten operators one call of ``fn`` dispatches, forward and backward: the
    outermost ``aten::`` calls of the profiler's CPU trace (operators that an operator
    calls inside itself are not counted again). Run it after a warm-up: the first backward
    creates the ``.grad`` tensors with other operators than the later ones."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    count = 0
    for event in prof.events():
        if not event.name.startswith('aten::'):
            continue
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith('aten::'):
            parent = parent.cpu_parent
        count += parent is None
    return count


def mixed_precision_wrapper(optimizer, device_type: str):
    """The optimizer wrapper of a mixed-precision step on ``device_type``: mmengine's
    ``AmpOptimWrapper`` on CUDA, a bfloat16 autocast wrapper on the CPU."""
    import torch
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    if device_type == 'cuda':
        return AmpOptimWrapper(optimizer=optimizer)

    class CPUAutocastOptimWrapper(OptimWrapper):
        @contextlib.contextmanager
        def optim_context(self, model):
            with super().optim_context(model), \
                    torch.autocast(device_type='cpu', dtype=torch.bfloat16):
                yield

    return CPUAutocastOptimWrapper(optimizer)


def input_size(image_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """(width, height) of an input size given as one side (square) or as (width, height)."""
    if isinstance(image_size, int):
        return image_size, image_size
    width, height = image_size
    return int(width), int(height)


def make_batch(model, image_size: Union[int, Sequence[int]], batch_size: int, with_mask: bool,
               data_dir: str):
    """One preprocessed training batch of generated images (reused by every step), of
    ``image_size`` (one side, or (width, height): square images resized to it)."""
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate

    from mmkd.data import make_shapes_dataset
    width, height = input_size(image_size)
    side = min(width, height)
    data = make_shapes_dataset(osp.join(data_dir, f'shapes_{side}'), num_train=batch_size,
                               num_val=1, image_size=side, seed=0)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='Resize', scale=(width, height), keep_ratio=False),
        dict(type='PackDetInputs'),
    ]
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=data['data_root'], ann_file=data['train_ann'],
        data_prefix=dict(img='train/'), metainfo=dict(classes=data['classes']),
        filter_cfg=dict(filter_empty_gt=False), pipeline=pipeline))
    batch = pseudo_collate([dataset[i] for i in range(batch_size)])
    batch = model.data_preprocessor(batch, training=True)
    return batch['inputs'], batch['data_samples']


@contextlib.contextmanager
def at_iteration(iteration: int):
    """The message hub at ``iteration`` of epoch 0, which the distillers' schedules read,
    inside the block; as it was after it (this matters when run in-process, as in tests)."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    saved = {key: hub.runtime_info[key] for key in ('iter', 'epoch') if key in hub.runtime_info}
    hub.update_info('iter', iteration)
    hub.update_info('epoch', 0)
    try:
        yield
    finally:
        for key in ('iter', 'epoch'):
            hub.runtime_info.pop(key, None)
        hub.update_info_dict(saved)


def run_case(case: dict) -> dict:
    """Measure one (detector, method, pair, size, batch) case in this process."""
    # the losses at full weight: an iteration far past any warm-up (no end_iter in the configs)
    with at_iteration(10**6):
        return _run_case(case)


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
    if case.get('teacher_precision') and is_distillation_config(cfg.model):
        cfg.model.teacher_precision = case['teacher_precision']
    model = MODELS.build(_drop_downloads(cfg.model)).to(device)
    model.train()
    distill = hasattr(model, 'distillers')
    student = model.student if distill else model
    with_mask = student.roi_head.with_mask if hasattr(student, 'roi_head') else False
    # foreach: one update for all parameters, as torch does by default on CUDA, so the
    # operator counts do not depend on the device
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                                momentum=0.9, foreach=True)
    optim_wrapper = (mixed_precision_wrapper(optimizer, device.type) if case.get('amp')
                     else OptimWrapper(optimizer))
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
        with optim_wrapper.optim_context(model):
            losses = model.loss(inputs, data_samples)
        optim_wrapper.update_params(model.parse_losses(losses)[0])

    def student_step():
        with optim_wrapper.optim_context(model):
            losses = student.loss(inputs, data_samples)
        optim_wrapper.update_params(model.parse_losses(losses)[0])

    teacher_dtype = getattr(model, 'teacher_autocast_dtype', None)

    def teacher_forward():
        with torch.no_grad(), optim_wrapper.optim_context(model), (
                torch.autocast(device.type, dtype=teacher_dtype) if teacher_dtype
                else contextlib.nullcontext()):
            model.run_teacher(model.teacher_inputs(inputs, data_samples))

    idle_rss = _rss_mb()
    resettable = _reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    times: Dict[str, List[float]] = dict(step=[], student=[], teacher=[])
    floor_every = case.get('floor_every') or 1
    for i in range(case['warmup'] + case['iters']):
        sample = dict(step=timed(full_step))
        # interleaved, so load changes on the machine hit all three alike
        if distill and (i < case['warmup'] or (i - case['warmup']) % floor_every == 0):
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
        paired = [s / (a + t) for s, a, t in zip(times['step'][::floor_every],
                                                 times['student'], times['teacher'])]
        result.update(student_s=statistics.median(times['student']),
                      teacher_s=statistics.median(times['teacher']), floor_s=floor,
                      ratio=result['step_s'] / floor,
                      # per-iteration ratios: less sensitive to load drifting during a case
                      ratio_paired_median=statistics.median(paired))
    else:
        result.update(student_s=result['step_s'], teacher_s=None, floor_s=None, ratio=None)
    if cuda:
        result['cuda_max_allocated_mb'] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    # Each count starts from the same weights and random state, so the student's part of
    # the full step takes the same data-dependent branches (proposals, sampled RoIs) as
    # the student-only step, and the difference is the distillation's own operators.
    state = copy.deepcopy(model.state_dict())

    def ops_of(fn) -> int:
        model.load_state_dict(state)
        torch.manual_seed(0)
        return count_aten_ops(fn)

    result['step_ops'] = ops_of(full_step)
    if distill:
        result.update(student_ops=ops_of(student_step), teacher_ops=ops_of(teacher_forward))
        result.update(extra_ops=result['step_ops'] - result['student_ops'],
                      distill_ops=result['step_ops'] - result['student_ops']
                      - result['teacher_ops'])
    else:
        result.update(student_ops=result['step_ops'], teacher_ops=None, extra_ops=None,
                      distill_ops=None)
    return result


if __name__ == '__main__':
    print('CASE_RESULT ' + json.dumps(run_case(json.loads(sys.argv[1]))), flush=True)
