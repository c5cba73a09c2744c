"""Training-step cost of the distillation methods: time per iteration, its ratio to the
floor (student-only step + teacher backbone/neck forward without grad) and peak memory.

Modes:
    cost     every method (none, FitNet, FGFI, ReviewKD, KD) on Faster R-CNN and Mask R-CNN
             at one input size and batch size (default 256 px, batch 2).
    scaling  the same measurements at several input sizes (at the default batch) and
             batch sizes (at the default size), Faster R-CNN by default.

For each case a fresh process builds the distillation model from the repository's configs
(default pair R101 -> R18, ``configs/<method>/<detector>_r101-r18_fpn_1x_coco.py``; the
student baseline ``configs/baselines/<detector>_r18_fpn_1x_coco.py`` for 'none'), with
random weights (no downloads) and everything else as configured. One batch of generated
images is preprocessed once and reused. Each measured iteration times, in turn:

* ``step``: the full training step (``model.loss`` with the teacher + backward + SGD step);
* ``student``: the student alone (``student.loss`` + backward + SGD step);
* ``teacher``: the teacher's backbone+neck forward under ``no_grad``, as the model runs it.

``ratio = median(step) / (median(student) + median(teacher))``; 1.0 means distillation
costs nothing beyond running the teacher's features. Warm-up schedules of the distillers
are skipped (the loss is measured at full weight). Peak memory: the process's peak RSS
while the case ran (Linux VmHWM, reset per case) on the CPU; ``torch.cuda.max_memory_
allocated`` on a GPU.

Usage:
    python tools/benchmark.py [cost|scaling] [--detectors faster mask]
        [--methods none fitnet fgfi reviewkd kd] [--image-size 256] [--batch-size 2]
        [--sizes 128 256 384] [--batches 1 2 4] [--iters 5] [--warmup 2] [--threads N]
        [--device cpu|cuda] [--pair r101-r18|r50-mv2|r101-r50|demo] [--out FILE.json]
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

METHODS = ('none', 'fitnet', 'fgfi', 'reviewkd', 'kd')
DETECTORS = dict(faster='faster-rcnn', mask='mask-rcnn')
PAIRS = ('r101-r18', 'r101-r50', 'r50-mv2', 'demo')


def config_for(detector: str, method: str, pair: str) -> str:
    name = DETECTORS[detector]
    if pair == 'demo':
        suffix = 'student' if method == 'none' else method
        return osp.join(ROOT, 'configs', 'demo', f'{name}_{suffix}.py')
    if method == 'none':
        student = pair.split('-')[1]
        return osp.join(ROOT, 'configs', 'baselines', f'{name}_{student}_fpn_1x_coco.py')
    return osp.join(ROOT, 'configs', method, f'{name}_{pair}_fpn_1x_coco.py')


# ----------------------------------------------------------------------------- one case
def _drop_downloads(model_cfg):
    """Random initialisation instead of pretrained backbones and teacher checkpoints."""
    from mmkd.models.distillation_detector import detector_config
    model_cfg = copy.deepcopy(model_cfg)
    if str(model_cfg.get('type', '')).split('.')[-1] in ('DistillationDetector',):
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


def _peak_rss_mb() -> float:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _rss_mb() -> Optional[float]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
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
        result.update(student_s=statistics.median(times['student']),
                      teacher_s=statistics.median(times['teacher']), floor_s=floor,
                      ratio=result['step_s'] / floor)
    else:
        result.update(student_s=result['step_s'], teacher_s=None, floor_s=None, ratio=None)
    if cuda:
        result['cuda_max_allocated_mb'] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return result


# ----------------------------------------------------------------------------- driver
def run_in_subprocess(case: dict, env: dict) -> dict:
    """A fresh process per case, so its peak memory is its own."""
    proc = subprocess.run([sys.executable, __file__, '--case', json.dumps(case)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith('CASE_RESULT '):
            return json.loads(line[len('CASE_RESULT '):])
    tail = '\n'.join((proc.stdout + proc.stderr).splitlines()[-20:])
    raise RuntimeError(f"benchmark case {case['detector']}/{case['method']} "
                       f"({case['image_size']} px, batch {case['batch_size']}) failed:\n{tail}")


def _fmt(value, digits=3, suffix='') -> str:
    return '—' if value is None else f'{value:.{digits}f}{suffix}'


def results_table(results: List[dict], cuda: bool) -> str:
    header = ['detector', 'method', 'size', 'batch', 'step (s)', 'student (s)',
              'teacher fwd (s)', 'ratio to floor', 'peak RSS (MB)']
    if cuda:
        header.append('CUDA max alloc (MB)')
    rows = [header, ['---'] * len(header)]
    for r in results:
        row = [r['detector'], r['method'], str(r['image_size']), str(r['batch_size']),
               _fmt(r['step_s']), _fmt(r['student_s']), _fmt(r['teacher_s']),
               _fmt(r['ratio'], 2), _fmt(r['peak_rss_mb'], 0)]
        if cuda:
            row.append(_fmt(r.get('cuda_max_allocated_mb'), 0))
        rows.append(row)
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in rows)


def machine_info(threads: Optional[int], device: str) -> dict:
    import torch
    cpu = platform.processor()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    info = dict(cpu=cpu, cpu_count=os.cpu_count(), threads=threads or torch.get_num_threads(),
                platform=platform.platform(), torch=torch.__version__, device=device)
    if device == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('mode', nargs='?', default='cost', choices=('cost', 'scaling'))
    parser.add_argument('--detectors', nargs='+', choices=tuple(DETECTORS),
                        help="default: faster mask (cost), faster (scaling)")
    parser.add_argument('--methods', nargs='+', choices=METHODS,
                        help='default: all five (cost); the four distillation methods '
                        '(scaling; none has no ratio)')
    parser.add_argument('--pair', choices=PAIRS, default='r101-r18',
                        help="teacher-student pair of the repository configs; 'demo' uses "
                        'configs/demo/ (small from-scratch models)')
    parser.add_argument('--image-size', type=int, default=256,
                        help='square input size of the cost mode')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--sizes', type=int, nargs='+', default=[128, 256, 384],
                        help='input sizes of the scaling mode (at --batch-size)')
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 2, 4],
                        help='batch sizes of the scaling mode (at --image-size)')
    parser.add_argument('--iters', type=int, default=5, help='measured iterations')
    parser.add_argument('--warmup', type=int, default=2, help='unmeasured first iterations')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--device', choices=('cpu', 'cuda'),
                        help='default: cuda when available, else cpu')
    parser.add_argument('--out', help='JSON file (default: work_dirs/benchmark/<mode>.json)')
    parser.add_argument('--case', help=argparse.SUPPRESS)  # internal: run one case
    args = parser.parse_args(argv)
    for name in ('image_size', 'batch_size', 'iters', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    return args


def plan(args) -> List[dict]:
    import torch
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available.')
    detectors = args.detectors or (['faster', 'mask'] if args.mode == 'cost' else ['faster'])
    if args.mode == 'cost':
        settings = [(args.image_size, args.batch_size)]
    else:
        settings = [(s, args.batch_size) for s in sorted(args.sizes)]
        settings += [(args.image_size, b) for b in sorted(args.batches)
                     if (args.image_size, b) not in settings]
    methods = args.methods or (list(METHODS) if args.mode == 'cost' else list(METHODS[1:]))
    cases = []
    for detector in detectors:
        for size, batch in settings:
            for method in methods:
                config = config_for(detector, method, args.pair)
                if not osp.isfile(config):
                    raise SystemExit(f'No config {osp.relpath(config, ROOT)} for {method} on '
                                     f'{DETECTORS[detector]} with the {args.pair} pair.')
                cases.append(dict(detector=DETECTORS[detector], method=method, pair=args.pair,
                                  config=config, image_size=size, batch_size=batch,
                                  iters=args.iters, warmup=args.warmup, threads=args.threads,
                                  device=device))
    return cases


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.case:
        result = run_case(json.loads(args.case))
        print('CASE_RESULT ' + json.dumps(result), flush=True)
        return result
    cases = plan(args)
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    started = time.perf_counter()
    results = []
    for index, case in enumerate(cases, start=1):
        print(f"[{index}/{len(cases)}] {case['detector']} {case['method']:<8} "
              f"{case['image_size']} px, batch {case['batch_size']} ...", end=' ', flush=True)
        result = run_in_subprocess(case, env)
        results.append(result)
        ratio = '' if result['ratio'] is None else f", ratio {result['ratio']:.2f}"
        print(f"step {result['step_s']:.3f} s{ratio}, peak RSS {result['peak_rss_mb']:.0f} MB",
              flush=True)
    device = cases[0]['device'] if cases else 'cpu'
    table = results_table(results, device == 'cuda')
    command = 'python tools/benchmark.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    output = dict(mode=args.mode, command=command.strip(),
                  machine=machine_info(args.threads, device), pair=args.pair,
                  iters=args.iters, warmup=args.warmup, results=results,
                  seconds=round(time.perf_counter() - started, 1))
    out = args.out or osp.join(ROOT, 'work_dirs', 'benchmark', f'{args.mode}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(output, f, indent=2)
    with open(osp.splitext(out)[0] + '.md', 'w') as f:
        f.write(f"Command: `{output['command']}`\n\nMachine: {output['machine']['cpu']}, "
                f"{output['machine']['threads']} thread(s), device {device}\n\n{table}\n")
    print('\n' + table + '\n')
    print(f"Median of {args.iters} iterations after {args.warmup} warm-up; ratio = step / "
          f"(student step + teacher backbone+neck forward). Written: {out}")
    return output


if __name__ == '__main__':
    main()
