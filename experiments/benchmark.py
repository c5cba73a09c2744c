"""Training-step cost of the distillation methods: time per iteration, its ratio to the
floor (student-only step + teacher backbone/neck forward without grad), peak memory and
the number of operators a step dispatches.

Modes:
    cost     every method on every detector family of the pair, at one input size and
             batch size (default 256 px, batch 2).
    scaling  the same measurements at several input sizes (at the default batch) and
             batch sizes (at the default size), Faster R-CNN by default.
    batch    every method at one input size and each of several batch sizes (--batches):
             a method whose own work is batched keeps its share of the step, and its
             operator count, flat as the batch grows; per-image Python loops show as
             operators growing with the batch.
    train    tools/train.py itself (data loading, hooks, logging included) for --warmup +
             --iters iterations of each method's config and of the plain student, on
             generated data: the median time per iteration and its ratio to the student's
             (:mod:`.throughput`).

For each case a fresh process (:mod:`.cost`) builds the distillation model from the
repository's configs (default pair R101 -> R18: ``configs/<method>/<detector>_r101-r18_
fpn_1x_coco.py``, every method folder that has that file; the student baseline
``configs/baselines/<detector>_r18_fpn_1x_coco.py`` for 'none'; ``--pair demo`` uses
``configs/demo/``), with random weights (no downloads) and everything else as configured.

``ratio = median(step) / (median(student) + median(teacher))``; 1.0 means distillation
costs nothing beyond running the teacher's features. Warm-up schedules of the distillers
are skipped (the loss is measured at full weight). Peak memory: the process's peak RSS
while the case ran (Linux VmHWM, reset per case) on the CPU; ``torch.cuda.max_memory_
allocated`` on a GPU.

Operators: the aten operators one step dispatches, counted with ``torch.profiler`` on the
CPU trace after the timed iterations (forward, backward and the optimizer's update; see
:func:`.cost.count_aten_ops`). ``ops over student`` is the step's count minus the student-only
step's, ``ops over floor`` also minus the teacher forward's: the distillers' own operators.
Counts do not depend on the machine's load; each operator is at least one kernel launch on
a GPU, so they are a GPU-independent proxy for launch overhead.

Cases fail alone: a case that raises is reported with its error and the others still run.
``--in-process`` runs the cases in this process instead of one fresh process each, which
saves the start-up (imports, CUDA context) of each case: for long matrices on a GPU, where
memory is ``torch.cuda.max_memory_allocated`` of each case; the peak RSS then includes
what the earlier cases left allocated.

``--amp`` measures mixed-precision steps (``AmpOptimWrapper`` on CUDA, bfloat16 autocast on
the CPU, see :mod:`.cost`); ``--teacher-precision`` sets the distillation model's
``teacher_precision``.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Union

from . import ROOT, cost, throughput
from .catalog import (BASELINE, demo_detectors, demo_methods, repository_baseline,
                      repository_methods, repository_pairs)
from .machine import hide_pkg_resources_warning, machine_info, subprocess_env
from .report import markdown_table, number

NONE = 'none'  # the student alone
DEFAULT_PAIR = 'r101-r18'


def detector_families(pair: str) -> List[str]:
    """The detector families that have ``pair`` ('demo': those of configs/demo/)."""
    if pair == 'demo':
        return demo_detectors()
    return sorted(d for d, pairs in repository_pairs().items() if pair in pairs)


def resolve_detector(name: str, pair: str) -> str:
    """A family name, or a unique prefix of one ('faster' for 'faster-rcnn')."""
    families = detector_families(pair)
    matches = [f for f in families if f == name] or [f for f in families if f.startswith(name)]
    if len(matches) != 1:
        raise ValueError(f"detector '{name}' does not name one of the {pair} pair's families "
                         f"({', '.join(families)})")
    return matches[0]


def pair_configs(detector: str, pair: str) -> Dict[str, str]:
    """Method -> config for a family and pair, 'none' (the student alone) first."""
    if pair == 'demo':
        methods = demo_methods(detector)
        return {(NONE if m == BASELINE else m): method.config for m, method in methods.items()}
    baseline = repository_baseline(detector, pair)
    return {**({NONE: baseline} if osp.isfile(baseline) else {}),
            **repository_methods(detector, pair)}


def config_for(detector: str, method: str, pair: str) -> str:
    """The config of ``method`` ('none': the student alone) on ``detector`` for ``pair``."""
    detector = resolve_detector(detector, pair)
    configs = pair_configs(detector, pair)
    if method not in configs:
        raise ValueError(f'No config for {method} on {detector} with the {pair} pair (methods '
                         f"there: {', '.join(configs)}).")
    return configs[method]


# ----------------------------------------------------------------------------- driver
def run_in_subprocess(case: dict, env: dict) -> dict:
    """A fresh process per case, so its peak memory is its own."""
    proc = subprocess.run([sys.executable, '-m', 'experiments.cost', json.dumps(case)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith('CASE_RESULT '):
            return json.loads(line[len('CASE_RESULT '):])
    tail = '\n'.join((proc.stdout + proc.stderr).splitlines()[-20:])
    raise RuntimeError(f"benchmark case {case['detector']}/{case['method']} "
                       f"({size_text(case['image_size'])} px, batch {case['batch_size']}) "
                       f"failed:\n{tail}")


def run_in_process(case: dict) -> dict:
    """The case measured in this process, its CUDA memory released afterwards."""
    import gc

    import torch
    try:
        return cost.run_case(case)
    finally:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def size_text(image_size: Union[int, Sequence[int]]) -> str:
    """'256' or '1333x800'."""
    return str(image_size) if isinstance(image_size, int) else 'x'.join(map(str, image_size))


def parse_size(text: str) -> Union[int, List[int]]:
    """An input size: one side ('256', square) or width x height ('1333x800')."""
    try:
        values = [int(v) for v in text.lower().split('x')]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 256 or 1333x800, got '{text}'")
    return values[0] if len(values) == 1 else values


def results_table(results: List[dict], cuda: bool) -> str:
    header = ['detector', 'method', 'size', 'batch', 'step (s)', 'student (s)',
              'teacher fwd (s)', 'ratio to floor', 'peak RSS (MB)']
    if cuda:
        header.append('CUDA max alloc (MB)')
    header += ['ops/step', 'ops over student', 'ops over floor']
    rows = []
    for r in results:
        if 'error' in r:
            rows.append([r['detector'], r['method'], size_text(r['image_size']),
                         str(r['batch_size']), 'failed: ' + r['error'].splitlines()[-1]]
                        + [''] * (len(header) - 5))
            continue
        row = [r['detector'], r['method'], size_text(r['image_size']), str(r['batch_size']),
               number(r['step_s']), number(r['student_s']), number(r['teacher_s']),
               number(r['ratio'], 2), number(r['peak_rss_mb'], 0)]
        if cuda:
            row.append(number(r.get('cuda_max_allocated_mb'), 0))
        row += [count(r.get(key)) for key in ('step_ops', 'extra_ops', 'distill_ops')]
        rows.append(row)
    return markdown_table(header, rows)


def count(value: Optional[int]) -> str:
    return '—' if value is None else str(value)


def precision(amp: bool, teacher_precision: Optional[str], device: str) -> str:
    """How the steps ran, e.g. 'fp32' or 'AMP (bf16 autocast), teacher fp16'."""
    text = ('AMP (' + ('fp16 autocast, loss scaling' if device == 'cuda' else 'bf16 autocast')
            + ')') if amp else 'fp32'
    return text + (f', teacher {teacher_precision}' if teacher_precision else '')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog='tools/benchmark.py',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('mode', nargs='?', default='cost',
                        choices=('cost', 'scaling', 'batch', 'train'))
    parser.add_argument('--detectors', nargs='+',
                        help="detector families or their prefixes, e.g. faster mask (default: "
                        "every family of the pair (cost), faster (scaling))")
    parser.add_argument('--methods', nargs='+',
                        help="default: 'none' and every method with a config for the pair "
                        "(cost, batch); the methods without 'none' (scaling)")
    parser.add_argument('--pair', default=DEFAULT_PAIR,
                        help="teacher-student pair of configs/_base_/pairs/ (r101-r18, "
                        "r101-r50, r50-mv2, ...); 'demo' uses configs/demo/ (small "
                        'from-scratch models)')
    parser.add_argument('--image-size', type=parse_size, default=256,
                        help='input size of the cost, batch and train modes: one side '
                        '(square) or WIDTHxHEIGHT, e.g. 1333x800')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--sizes', type=int, nargs='+', default=[128, 256, 384],
                        help='input sizes of the scaling mode (at --batch-size)')
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 2, 4],
                        help='batch sizes of the scaling and batch modes (at --image-size)')
    parser.add_argument('--iters', type=int, default=5, help='measured iterations')
    parser.add_argument('--floor-every', type=int, default=1,
                        help='time the floor (student step, teacher forward) at every N-th '
                        'measured iteration only (default: every one)')
    parser.add_argument('--warmup', type=int, default=2, help='unmeasured first iterations')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--device', choices=('cpu', 'cuda'),
                        help='default: cuda when available, else cpu')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: AmpOptimWrapper (fp16) on CUDA, bf16 autocast '
                        'on the CPU')
    parser.add_argument('--teacher-precision', choices=('fp32', 'fp16', 'bf16'),
                        help="the distillation model's teacher_precision (default: the "
                        "config's)")
    parser.add_argument('--in-process', action='store_true',
                        help='run the cases in this process (no start-up per case; peak '
                        'RSS then not per case)')
    parser.add_argument('--out', help='JSON file (default: work_dirs/benchmark/<mode>.json)')
    args = parser.parse_args(argv)
    for name in ('batch_size', 'iters', 'threads', 'floor_every'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if not detector_families(args.pair):
        pairs = sorted({p for ps in repository_pairs().values() for p in ps})
        parser.error(f"--pair {args.pair}: no such pair (among {', '.join(pairs)}, demo)")
    try:
        default = ['faster'] if args.mode == 'scaling' else detector_families(args.pair)
        args.detectors = [resolve_detector(d, args.pair) for d in args.detectors or default]
    except ValueError as error:
        parser.error(str(error))
    return args


def plan(args) -> List[dict]:
    import torch
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available.')
    if args.mode == 'cost':
        settings = [(args.image_size, args.batch_size)]
    elif args.mode == 'batch':
        settings = [(args.image_size, b) for b in sorted(set(args.batches))]
    elif args.mode == 'train':
        settings = [(args.image_size, args.batch_size)]
    else:
        settings = [(s, args.batch_size) for s in sorted(args.sizes)]
        settings += [(args.image_size, b) for b in sorted(args.batches)
                     if (args.image_size, b) not in settings]
    cases = []
    for detector in args.detectors:
        configs = pair_configs(detector, args.pair)
        methods = args.methods or [m for m in configs if args.mode != 'scaling' or m != NONE]
        unknown = [m for m in methods if m not in configs]
        if unknown:
            raise SystemExit(f"No config for {', '.join(unknown)} on {detector} with the "
                             f"{args.pair} pair (methods there: {', '.join(configs)}).")
        for size, batch in settings:
            for method in methods:
                cases.append(dict(detector=detector, method=method, pair=args.pair,
                                  config=configs[method], image_size=size, batch_size=batch,
                                  iters=args.iters, warmup=args.warmup, threads=args.threads,
                                  device=device, amp=args.amp,
                                  teacher_precision=args.teacher_precision,
                                  floor_every=args.floor_every))
    return cases


def main(argv=None) -> dict:
    hide_pkg_resources_warning()
    args = parse_args(argv)
    cases = plan(args)
    env = subprocess_env(args.threads)
    if args.in_process and args.threads:
        import torch
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    out = args.out or osp.join(ROOT, 'work_dirs', 'benchmark', f'{args.mode}.json')
    device = cases[0]['device'] if cases else 'cpu'
    command = 'python tools/benchmark.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    output = dict(mode=args.mode, command=command.strip(),
                  machine=machine_info(args.threads, device), pair=args.pair,
                  iters=args.iters, warmup=args.warmup, amp=args.amp,
                  teacher_precision=args.teacher_precision, results=[], seconds=0.)
    table = write_outputs(output, out, args, device)
    for index, case in enumerate(cases, start=1):
        print(f"[{index}/{len(cases)}] {case['detector']} {case['method']:<8} "
              f"{size_text(case['image_size'])} px, batch {case['batch_size']} ...", end=' ',
              flush=True)
        try:
            if args.mode == 'train':
                result = throughput.run_training(case, osp.splitext(out)[0] + '_runs', env)
            elif args.in_process:
                result = run_in_process(case)
            else:
                result = run_in_subprocess(case, env)
            print(throughput.summary(result) if args.mode == 'train' else case_summary(result),
                  flush=True)
        except Exception as error:  # reported in the table; the other cases still run
            result = dict(case, error=f'{type(error).__name__}: {error}')
            print(f'FAILED\n{error}', flush=True)
        output['results'].append(result)
        output['seconds'] = round(time.perf_counter() - started, 1)
        # after every case, so that a run cut short keeps what it measured
        table = write_outputs(output, out, args, device)
    print('\n' + table + '\n')
    what = (throughput.DESCRIPTION if args.mode == 'train' else
            'ratio = step / (student step + teacher backbone+neck forward); ops: aten '
            'operators of one step')
    print(f"Median of {args.iters} iterations after {args.warmup} warm-up; {what}. "
          f"Precision: {precision(args.amp, args.teacher_precision, device)}. Written: {out}")
    failed = [r for r in output['results'] if 'error' in r]
    if failed:
        print(f"{len(failed)} of {len(output['results'])} case(s) failed (see the table).")
    return output


def write_outputs(output: dict, out: str, args, device: str) -> str:
    """Write the JSON and the markdown table (beside it, ``.md``); returns the table."""
    results = output['results']
    table = (throughput.results_table(results) if args.mode == 'train'
             else results_table(results, device == 'cuda'))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(output, f, indent=2)
    with open(osp.splitext(out)[0] + '.md', 'w') as f:
        f.write(f"Command: `{output['command']}`\n\nMachine: {output['machine']['cpu']}, "
                f"{output['machine']['threads']} thread(s), device {device}\n\nPrecision: "
                f"{precision(args.amp, args.teacher_precision, device)}\n\n{table}\n")
    return table


def case_summary(result: dict) -> str:
    ratio = '' if result['ratio'] is None else f", ratio {result['ratio']:.2f}"
    ops = '' if result['distill_ops'] is None else f", {result['distill_ops']} ops over floor"
    return f"step {result['step_s']:.3f} s{ratio}, peak RSS {result['peak_rss_mb']:.0f} MB{ops}"
