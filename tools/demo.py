"""End-to-end distillation demo on the CPU: generated data, a teacher, a student baseline and
distilled students, all trained with tools/train.py on the configs in configs/demo/.

Stages (each one a ``python tools/train.py configs/demo/<config>.py`` run):

1. the shapes dataset (made once, reused; ``tools/make_shapes_data.py`` writes the same);
2. the teacher (a larger Faster/Mask R-CNN trained 3x longer), reused when the work dir
   already holds it;
3. for every seed: the student baseline and the student with each distillation method, same
   iterations; each run ends with mmdet's COCO evaluation on the val split.

Then one table (box AP, AP50, AP75, mask AP for Mask R-CNN, gain over the baseline and the
share of the teacher-student gap closed) is printed and written to ``results.json`` /
``results.md``, with ``ap_bars.png`` and ``loss_curves.png``, in the work dir. Finished
stages with the same settings are reused on a rerun (``--retrain`` redoes them).

Usage:
    python tools/demo.py [--quick] [--mask] [--work-dir work_dirs/demo] [--seeds 0 1 2]
                         [--methods baseline reviewkd fgfi fitnet kd] [--threads N]
"""
import argparse
import json
import os
import os.path as osp
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools'))

from mmengine.config import Config  # noqa: E402

import mmkd  # noqa: E402
from make_shapes_data import dataset_settings, make_data  # noqa: E402

CONFIG_DIR = osp.join(ROOT, 'configs', 'demo')
TRAIN = osp.join(ROOT, 'tools', 'train.py')

# method -> (config name suffix, registered distiller type or None, label)
METHODS = {
    'baseline': ('student', None, 'student baseline'),
    'fitnet': ('fitnet', 'FitNet', '+ FitNet'),
    'reviewkd': ('reviewkd', 'ReviewKD', '+ ReviewKD'),
    'fgfi': ('fgfi', 'FGFI', '+ FGFI'),
    'kd': ('kd', 'KD', '+ KD'),
}
DEFAULT_METHODS = ('baseline', 'reviewkd', 'fgfi')
# Iterations of the two profiles (the configs' own values are the full profile's).
QUICK = dict(teacher_iters=200, student_iters=80)
METRICS = ('AP', 'AP50', 'AP75')


# ----------------------------------------------------------------------------- stages
class Stage:
    """One tools/train.py run: config, work dir, --cfg-options."""

    def __init__(self, name: str, config: str, work_dir: str, options: List[str],
                 label: str, iters: int):
        self.name, self.config, self.work_dir = name, config, work_dir
        self.options, self.label, self.iters = options, label, iters
        self.depends_on = None  # the teacher run a distilled student learns from

    @property
    def command(self) -> List[str]:
        cmd = [sys.executable, TRAIN, self.config, '--work-dir', self.work_dir]
        return cmd + (['--cfg-options', *self.options] if self.options else [])

    def key(self) -> dict:
        """What a finished run must match to be reused."""
        return dict(config=osp.relpath(self.config, ROOT), options=self.options,
                    teacher=self.depends_on)


def schedule_options(cfg: Config, iters: int, log_interval: Optional[int]) -> List[str]:
    """Options that change a demo config's schedule to ``iters`` iterations (none when the
    config already has them, so the full demo runs the configs as written)."""
    options = []
    configured = cfg.train_cfg.max_iters
    if iters != configured:
        warmup = max(1, round(cfg.param_scheduler[0].end * iters / configured))
        options += [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                    f'param_scheduler.0.end={warmup}', f'param_scheduler.1.end={iters}',
                    f'param_scheduler.1.milestones=[{int(iters * 0.8)}]',
                    f'default_hooks.checkpoint.interval={iters}']
        distillers = cfg.model.get('distillers', {}) if 'student' in cfg.model else {}
        for name, distiller in distillers.items():
            if distiller.get('warmup_iters'):
                scaled = round(distiller.warmup_iters * iters / configured)
                options.append(f'model.distillers.{name}.warmup_iters={scaled}')
    if log_interval is not None:
        options += [f'default_hooks.logger.interval={log_interval}',
                    f'log_processor.window_size={log_interval}']
    return options


def data_options(data_root: str) -> List[str]:
    root = data_root.rstrip('/') + '/'
    ann = root + 'annotations/instances_val.json'
    return [f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']


_ITER_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)\s+time: ([\d.]+)'
                        r'.*?\sloss: ([\d.]+)')


def _progress_line(line: str) -> Optional[str]:
    match = _ITER_LINE.search(line)
    if match:
        it, total, eta, sec, loss = match.groups()
        return f'      iter {int(it):>4}/{total}  loss {float(loss):.3f}  ' \
               f'{float(sec):.2f} s/iter  eta {eta}'
    for kind in ('bbox', 'segm'):
        if f'{kind}_mAP_copypaste' in line:
            values = line.split('copypaste:')[-1].split()
            return (f'      {kind} AP {values[0]}  AP50 {values[1]}  AP75 {values[2]}  '
                    '(val, COCO metric)')
    return None


def train(stage: Stage, env: dict, verbose: bool) -> None:
    """Run tools/train.py, logging everything to train.log and showing the progress."""
    if osp.isdir(stage.work_dir):
        shutil.rmtree(stage.work_dir)
    os.makedirs(stage.work_dir)
    log_path = osp.join(stage.work_dir, 'train.log')
    with open(log_path, 'w') as log:
        log.write(' '.join(stage.command) + '\n')
        log.flush()
        proc = subprocess.Popen(stage.command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:
            log.write(line)
            shown = line.rstrip() if verbose else _progress_line(line)
            if shown:
                print(shown, flush=True)
        code = proc.wait()
    if code != 0:
        with open(log_path) as f:
            tail = f.readlines()[-25:]
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'Stage "{stage.label}" failed (exit code {code}); full log: '
                         f'{log_path}\nThe command was: {" ".join(stage.command)}')


def read_run(work_dir: str) -> dict:
    """Metrics of the final evaluation, loss curves and timing from a run's scalars.json."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'No vis_data/scalars.json under {work_dir}: the run did not '
                                'log (see its train.log).')
    metrics, curves, times = None, dict(iter=[], detection=[], distill=[]), []
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        for line in f:
            row = json.loads(line)
            if any(k.startswith('coco/') for k in row):
                metrics = {k[len('coco/'):]: v for k, v in row.items() if k.startswith('coco/')}
            elif 'iter' in row and 'loss' in row:
                curves['iter'].append(row['iter'])
                curves['detection'].append(sum(v for k, v in row.items()
                                               if k.startswith('loss_')))
                curves['distill'].append(sum(v for k, v in row.items()
                                             if k.startswith('distill_')))
                times.append(row['time'])
    if metrics is None:
        raise ValueError(f'The run in {work_dir} logged no COCO metrics (no val at the end?).')
    checkpoint = None
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            checkpoint = f.read().strip()
    return dict(metrics=_ap_metrics(metrics), curves=curves, checkpoint=checkpoint,
                sec_per_iter=statistics.median(times) if times else None)


def _ap_metrics(coco: dict) -> dict:
    """``bbox_mAP_50`` style keys (fractions) -> ``bbox_AP50`` (percent)."""
    out = {}
    for kind in ('bbox', 'segm'):
        for name, key in (('AP', 'mAP'), ('AP50', 'mAP_50'), ('AP75', 'mAP_75'),
                          ('APs', 'mAP_s'), ('APm', 'mAP_m')):
            value = coco.get(f'{kind}_{key}')
            if value is not None:
                out[f'{kind}_{name}'] = round(100 * value, 2)
    return out


def run_stage(stage: Stage, env: dict, retrain: bool, verbose: bool, index: int,
              total: int, started: float) -> dict:
    """Train (or reuse) one stage; returns its record (metrics, curves, seconds...)."""
    record_path = osp.join(stage.work_dir, 'demo_stage.json')
    elapsed = _duration(time.perf_counter() - started)
    head = f'[{index}/{total}, {elapsed} elapsed] {stage.label}: '
    if not retrain and osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('key') == stage.key():
            print(head + f'reusing the finished run in {stage.work_dir} '
                  f"(box AP {record['metrics']['bbox_AP']:.1f})", flush=True)
            return dict(record, reused=True)
    print(head + f'{stage.iters} iterations of python tools/train.py '
          f'{osp.relpath(stage.config, ROOT)} (log: {stage.work_dir}/train.log)', flush=True)
    start = time.perf_counter()
    train(stage, env, verbose)
    seconds = time.perf_counter() - start
    record = dict(read_run(stage.work_dir), key=stage.key(), seconds=round(seconds, 1),
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    with open(record_path, 'w') as f:
        json.dump(record, f)
    metrics = record['metrics']
    print('      ' + f'done in {_duration(seconds)}: box AP {metrics["bbox_AP"]:.1f}'
          + (f', mask AP {metrics["segm_AP"]:.1f}' if 'segm_AP' in metrics else ''),
          flush=True)
    return dict(record, reused=False)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f'{minutes}m{seconds:02d}s' if minutes else f'{seconds}s'


# ----------------------------------------------------------------------------- summary
def _mean_std(values: List[float]) -> Dict[str, float]:
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.
    return dict(mean=round(mean, 2), std=round(std, 2))


def summarize(teacher: dict, students: Dict[str, Dict[int, dict]], kinds: List[str]) -> dict:
    """Per method: metrics per seed, mean/std, gain over the baseline (paired by seed) and
    the share of the teacher-baseline gap closed."""
    baseline = students['baseline']
    summary = {}
    for method, runs in students.items():
        seeds = sorted(runs)
        entry = dict(seeds=seeds, per_seed={str(s): runs[s]['metrics'] for s in seeds},
                     seconds={str(s): runs[s]['seconds'] for s in seeds},
                     sec_per_iter={str(s): runs[s]['sec_per_iter'] for s in seeds})
        for kind in kinds:
            for metric in METRICS:
                key = f'{kind}_{metric}'
                entry[key] = _mean_std([runs[s]['metrics'][key] for s in seeds])
            if method == 'baseline':
                continue
            key = f'{kind}_AP'
            paired = [runs[s]['metrics'][key] - baseline[s]['metrics'][key]
                      for s in seeds if s in baseline]
            gain = _mean_std(paired)
            gap = teacher['metrics'][key] - entry[key]['mean'] + gain['mean']
            entry[f'{kind}_gain'] = dict(gain, per_seed=[round(p, 2) for p in paired],
                                         wins=sum(p > 0 for p in paired))
            entry[f'{kind}_gap_closed'] = round(100 * gain['mean'] / gap, 1) if gap > 0 else None
        summary[method] = entry
    return summary


def _fmt(stat: dict, n: int) -> str:
    return f"{stat['mean']:.1f} ± {stat['std']:.1f}" if n > 1 else f"{stat['mean']:.1f}"


def results_table(results: dict) -> str:
    """The markdown table of the demo results."""
    kinds = results['kinds']
    names = dict(bbox='box', segm='mask')
    header = ['model', 'seeds']
    for kind in kinds:
        header += [f'{names[kind]} AP', f'{names[kind]} AP50', f'{names[kind]} AP75']
    for kind in kinds:
        header += [f'gain ({names[kind]} AP)', f'gap closed ({names[kind]})']
    rows = [header, ['---'] * len(header)]
    teacher = results['teacher']
    row = [f"teacher: {results['models']['teacher']}", '1']
    for kind in kinds:
        row += [f"{teacher['metrics'][f'{kind}_{m}']:.1f}" for m in METRICS]
    rows.append(row + ['', ''] * len(kinds))
    for method, entry in results['methods'].items():
        n = len(entry['seeds'])
        label = METHODS[method][2]
        if method == 'baseline':
            label += f": {results['models']['student']}"
        row = [label, str(n)]
        for kind in kinds:
            row += [_fmt(entry[f'{kind}_{m}'], n) for m in METRICS]
        for kind in kinds:
            if method == 'baseline':
                row += ['', '']
                continue
            gain = entry[f'{kind}_gain']
            text = f"{gain['mean']:+.1f}"
            if n > 1:
                text += f" ± {gain['std']:.1f} ({gain['wins']}/{n} seeds up)"
            gap = entry[f'{kind}_gap_closed']
            row += [text, '' if gap is None else f'{gap:.0f}%']
        rows.append(row)
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in rows)


def describe_model(cfg: Config) -> str:
    model = cfg.model.student if 'student' in cfg.model else cfg.model
    backbone, neck = model.backbone, model.neck
    width = backbone.get('base_channels', 64)
    name = f"ResNet-{backbone.depth}" + (f' x{width / 64:g} width' if width != 64 else '')
    return f'{name}, FPN {neck.out_channels} ch'


def plot_ap(results: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    kinds = results['kinds']
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.8 * len(kinds), 3.8), squeeze=False)
    methods = list(results['methods'])
    colours = ['#8c8c8c'] + [f'C{i}' for i in range(len(methods))]
    for ax, kind in zip(axes[0], kinds):
        means = [results['methods'][m][f'{kind}_AP']['mean'] for m in methods]
        stds = [results['methods'][m][f'{kind}_AP']['std'] for m in methods]
        x = range(len(methods))
        ax.bar(x, means, yerr=stds, capsize=4, color=colours[:len(methods)], alpha=0.85)
        for i, m in enumerate(methods):
            values = [v[f'{kind}_AP'] for v in results['methods'][m]['per_seed'].values()]
            ax.scatter([i] * len(values), values, color='k', s=10, zorder=3)
            ax.text(i, means[i] + stds[i] + 0.3, f'{means[i]:.1f}', ha='center', fontsize=8)
        teacher = results['teacher']['metrics'][f'{kind}_AP']
        ax.axhline(teacher, color='k', linestyle='--', linewidth=1)
        ax.text(len(methods) - 0.5, teacher, f'teacher {teacher:.1f}', ha='right',
                va='bottom', fontsize=8)
        ax.set_xticks(list(x))
        ax.set_xticklabels([METHODS[m][2].replace('+ ', '').replace('student ', '')
                            for m in methods])
        low = min(means) - max(stds) - 3
        ax.set_ylim(max(0, low), max(teacher, max(means)) + 3)
        ax.set_ylabel(f"{'box' if kind == 'bbox' else 'mask'} AP (val)")
        ax.set_title(f"{results['detector']} student, {len(results['seeds'])} seed(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_losses(results: dict, curves: Dict[str, List[dict]], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (method, runs) in enumerate(curves.items()):
        runs = [r for r in runs if r['iter']]
        if not runs:
            continue
        length = min(len(r['iter']) for r in runs)
        iters = runs[0]['iter'][:length]
        colour = '#8c8c8c' if method == 'baseline' else f'C{i - 1}'
        label = METHODS[method][2].replace('+ ', '')
        for ax, key in zip(axes, ('detection', 'distill')):
            if key == 'distill' and method == 'baseline':
                continue
            mean = [statistics.mean(r[key][j] for r in runs) for j in range(length)]
            if key == 'distill':  # off during a warm-up: not drawn
                mean = [v if v > 0 else float('nan') for v in mean]
            ax.plot(iters, mean, color=colour, label=label)
    axes[0].set_title('student detection losses (RPN + RoI), mean over seeds')
    axes[1].set_title('distillation loss (weighted)')
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.legend(fontsize=8)
    axes[1].set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine_info(threads: Optional[int]) -> dict:
    import torch
    cpu = platform.processor()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    return dict(cpu=cpu, cpu_count=os.cpu_count(), threads=threads or torch.get_num_threads(),
                platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, mmkd=mmkd.__version__)


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Distillation demo: teacher, student baseline and distilled students '
        'trained on generated shapes data on the CPU, evaluated with the COCO metric.')
    parser.add_argument('--quick', action='store_true',
                        help=f"a few-minute run ({QUICK['teacher_iters']} teacher / "
                        f"{QUICK['student_iters']} student iterations): checks the pipeline, "
                        'too short to show distillation gains')
    parser.add_argument('--mask', action='store_true',
                        help='Mask R-CNN (box and mask AP) instead of Faster R-CNN')
    parser.add_argument('--work-dir', help='default: work_dirs/demo (work_dirs/demo_quick '
                        'with --quick); a teacher found there is reused')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds of the students (the teacher is trained once)')
    parser.add_argument('--methods', nargs='+', default=list(DEFAULT_METHODS),
                        help=f"among {', '.join(METHODS)} or 'all' (default: "
                        f"{' '.join(DEFAULT_METHODS)})")
    parser.add_argument('--data-root', help="where the dataset is generated (default: the "
                        "configs' data_root, data/shapes_demo/)")
    parser.add_argument('--threads', type=int,
                        help='CPU threads per training run (default: torch\'s default)')
    parser.add_argument('--retrain', action='store_true',
                        help='retrain the students even when finished runs with the same '
                        'settings are in the work dir (the teacher is still reused)')
    parser.add_argument('--retrain-teacher', action='store_true', help='retrain the teacher too')
    parser.add_argument('--verbose', action='store_true', help="show the Runner's full logs")
    dev = parser.add_argument_group('size overrides (tests, experiments)')
    dev.add_argument('--teacher-iters', type=int)
    dev.add_argument('--student-iters', type=int)
    dev.add_argument('--batch-size', type=int)
    dev.add_argument('--num-train', type=int)
    dev.add_argument('--num-val', type=int)
    dev.add_argument('--data-seed', type=int)
    dev.add_argument('--log-interval', type=int)
    args = parser.parse_args(argv)
    if 'all' in args.methods:
        args.methods = list(METHODS)
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}: choose among "
                     f"{', '.join(METHODS)} or 'all'")
    args.methods = ['baseline'] + [m for m in dict.fromkeys(args.methods) if m != 'baseline']
    for name in ('teacher_iters', 'student_iters', 'batch_size', 'num_train', 'num_val',
                 'log_interval', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds has duplicates: {args.seeds}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    detector = 'mask-rcnn' if args.mask else 'faster-rcnn'
    work_dir = osp.abspath(args.work_dir) if args.work_dir else osp.join(
        ROOT, 'work_dirs', 'demo_quick' if args.quick else 'demo')
    os.makedirs(work_dir, exist_ok=True)

    available = set(mmkd.MODELS.module_dict)
    methods = []
    for method in args.methods:
        distiller = METHODS[method][1]
        if distiller is not None and distiller not in available:
            print(f'!! {method}: distiller {distiller} is not registered in this mmkd '
                  'install; skipped.', flush=True)
            continue
        methods.append(method)

    # Data.
    data_cfg = dataset_settings(osp.join(CONFIG_DIR, f'{detector}_student.py'))
    for key in ('num_train', 'num_val'):
        if getattr(args, key) is not None:
            data_cfg[key] = getattr(args, key)
    if args.data_seed is not None:
        data_cfg['seed'] = args.data_seed
    data_root = osp.abspath(args.data_root) if args.data_root else \
        osp.join(ROOT, data_cfg['data_root'].rstrip('/'))
    print(f"[data] shapes dataset in {data_root}: {data_cfg['num_train']} train / "
          f"{data_cfg['num_val']} val images, {data_cfg['image_size']} px, seed "
          f"{data_cfg['seed']}", flush=True)
    make_data(**dict(data_cfg, data_root=data_root))

    env = dict(os.environ, PYTHONWARNINGS='ignore')
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))

    # Stages.
    def config_path(method: str) -> str:
        suffix = 'teacher' if method == 'teacher' else METHODS[method][0]
        return osp.join(CONFIG_DIR, f'{detector}_{suffix}.py')

    teacher_cfg = Config.fromfile(config_path('teacher'))
    student_cfg = Config.fromfile(config_path('baseline'))
    teacher_iters = args.teacher_iters or (QUICK['teacher_iters'] if args.quick
                                           else teacher_cfg.train_cfg.max_iters)
    student_iters = args.student_iters or (QUICK['student_iters'] if args.quick
                                           else student_cfg.train_cfg.max_iters)
    common = data_options(data_root)
    if args.batch_size:
        common.append(f'train_dataloader.batch_size={args.batch_size}')
    teacher_stage = Stage(
        'teacher', config_path('teacher'), osp.join(work_dir, f'{detector}_teacher'),
        common + schedule_options(teacher_cfg, teacher_iters, args.log_interval),
        f'teacher ({describe_model(teacher_cfg)})', teacher_iters)
    student_stages = []
    for seed in args.seeds:
        for method in methods:
            cfg = Config.fromfile(config_path(method))
            stage_dir = osp.join(work_dir, f'{detector}_{METHODS[method][0]}', f'seed{seed}')
            options = common + schedule_options(cfg, student_iters, args.log_interval)
            options.append(f'randomness.seed={seed}')
            student_stages.append((method, seed, Stage(
                method, config_path(method), stage_dir, options,
                f'{METHODS[method][2]} (seed {seed})', student_iters)))
    total = 1 + len(student_stages)

    teacher = run_stage(teacher_stage, env, args.retrain_teacher, args.verbose, 1, total,
                        started)
    teacher_ckpt = osp.join(teacher_stage.work_dir, f'iter_{teacher_iters}.pth')
    if not osp.isfile(teacher_ckpt):
        raise SystemExit(f'The teacher checkpoint {teacher_ckpt} is missing: rerun with '
                         '--retrain-teacher.')
    students: Dict[str, Dict[int, dict]] = {m: {} for m in methods}
    for index, (method, seed, stage) in enumerate(student_stages, start=2):
        if method != 'baseline':
            stage.options.append(f'model.teacher_ckpt={teacher_ckpt}')
            stage.depends_on = teacher.get('finished')  # a new teacher retrains these
        students[method][seed] = run_stage(stage, env, args.retrain, args.verbose, index,
                                           total, started)

    # Results.
    kinds = ['bbox', 'segm'] if args.mask else ['bbox']
    results = dict(
        detector=detector.replace('-rcnn', ' R-CNN').replace('faster', 'Faster')
        .replace('mask', 'Mask'),
        kinds=kinds, seeds=args.seeds, methods_requested=args.methods,
        methods_skipped=[m for m in args.methods if m not in methods],
        models=dict(teacher=describe_model(teacher_cfg), student=describe_model(student_cfg)),
        settings=dict(teacher_iters=teacher_iters, student_iters=student_iters,
                      batch_size=args.batch_size or student_cfg.train_dataloader.batch_size,
                      data=dict(data_cfg, data_root=data_root), quick=args.quick),
        teacher=dict(metrics=teacher['metrics'], seconds=teacher['seconds'],
                     sec_per_iter=teacher['sec_per_iter'], reused=teacher['reused'],
                     checkpoint=teacher_ckpt),
        methods=summarize(teacher, students, kinds),
        reused_runs=int(teacher['reused']) + sum(r['reused'] for runs in students.values()
                                                 for r in runs.values()),
        command='python tools/demo.py' + (' ' + ' '.join(argv if argv is not None
                                                          else sys.argv[1:])).rstrip(),
        machine=machine_info(args.threads),
        total_seconds=None)
    results['total_seconds'] = round(time.perf_counter() - started, 1)
    table = results_table(results)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(results_markdown(results, table))
    plot_ap(results, osp.join(work_dir, 'ap_bars.png'))
    plot_losses(results, {m: [r['curves'] for r in runs.values()]
                          for m, runs in students.items()},
                osp.join(work_dir, 'loss_curves.png'))
    print('\n' + table + '\n')
    print(f"{results['detector']}, val split of the generated data, COCO AP in %, "
          f"{len(args.seeds)} seed(s); total time {_duration(results['total_seconds'])}.")
    print(f'Written: {work_dir}/results.json, results.md, ap_bars.png, loss_curves.png')
    return results


def results_markdown(results: dict, table: str) -> str:
    s = results['settings']
    student_seconds = [t for m in results['methods'].values() for t in m['seconds'].values()]
    reused = results['reused_runs']
    lines = [
        f"## mmkd demo: {results['detector']} distillation on generated shapes data", '',
        f"Command: `{results['command']}`", '',
        table, '',
        f"Val split: {s['data']['num_val']} generated images ({s['data']['image_size']} px, "
        f"dataset seed {s['data']['seed']}); COCO AP in %, mean ± std over the student "
        'training seeds; gain = paired difference to the baseline of the same seed; gap '
        'closed = gain / (teacher AP - baseline AP).',
        f"Teacher {s['teacher_iters']} iterations, students {s['student_iters']} iterations "
        f"each, batch {s['batch_size']}, from scratch.",
        f"Machine: {results['machine']['cpu']}, {results['machine']['threads']} thread(s). "
        f"Training + evaluation time per run: teacher {_duration(results['teacher']['seconds'])}"
        f", students {_duration(min(student_seconds))} to {_duration(max(student_seconds))} "
        f"({_duration(sum(student_seconds))} in all). This invocation took "
        f"{_duration(results['total_seconds'])}"
        + (f" ({reused} of {1 + len(student_seconds)} runs reused from earlier invocations)"
           if reused else '') + '.',
    ]
    if results['methods_skipped']:
        lines.append(f"Skipped (distiller not registered): {', '.join(results['methods_skipped'])}.")
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
