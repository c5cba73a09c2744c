"""Which method distils which detector family: every method of :data:`METHODS` tried on
every family of :data:`.families.ALL_FAMILIES` (mmdet 3.3 pairs) for one training step on generated
data, through ``mmkd.testing.small_run_config`` and ``mmkd.DistillationRunner``.

Each case ends in one of:

* ``trains``: the step ran and every distillation loss is finite;
* ``refused``: the host refused the pair at build with a ``ValueError`` (its message says
  why and what applies instead);
* ``fails``: anything else (an error at build that is not a refusal, an error during the
  step, a non-finite loss), a defect to fix.

Writes ``family_matrix.json`` (every case with its message) and ``family_matrix.md``
(the table, with the distinct refusal reasons as numbered notes). Cases already in the
output folder's ``family_matrix.json`` are kept unless run again, so a new method or family
is added by running only it.
"""
import argparse
import gc
import json
import math
import os
import os.path as osp
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Tuple

from . import ROOT
from .families import ALL_FAMILIES, family_config
from .machine import hide_pkg_resources_warning, machine_info
from .report import markdown_table

Features = Tuple[str, str]

#: Method name -> its distillers on a family, given the (student, teacher) features the
#: family's pair distils. Feature methods read those features; the prediction methods
#: find the heads themselves.
METHODS: Dict[str, Callable[[Features], dict]] = {
    'FitNet': lambda f: dict(type='FitNet', student=f[0], teacher=f[1]),
    'ReviewKD': lambda f: dict(type='ReviewKD', student=f[0], teacher=f[1]),
    'PKD': lambda f: dict(type='PKD', student=f[0], teacher=f[1]),
    'CWD': lambda f: dict(type='CWD', student=f[0], teacher=f[1]),
    'MGD': lambda f: dict(type='MGD', student=f[0], teacher=f[1]),
    'FGD': lambda f: dict(type='FGD', student=f[0], teacher=f[1]),
    'FGFI': lambda f: dict(type='FGFI', student=f[0], teacher=f[1]),
    'KD': lambda f: dict(type='KD', teacher=f[1]),
    'BCKD': lambda f: dict(type='BCKD'),
    'LD': lambda f: dict(type='LD'),
    # small_run_config keeps one stacked conv per head branch: the cross point after it
    'CrossKD': lambda f: dict(type='CrossKD', student_convs=1),
    'DETRPredictionKD': lambda f: dict(type='DETRPredictionKD'),
    'MaskKD': lambda f: dict(type='MaskKD'),
}


def run_case(family: str, method: str, data: dict, work_dir: str) -> dict:
    """One training step of ``method`` on ``family``: ``dict(outcome, message)``."""
    import torch
    from mmengine.registry import RUNNERS

    from mmkd.testing import small_run_config

    pair = ALL_FAMILIES[family]
    distillers = {method.lower(): METHODS[method](pair['features'])}
    try:
        cfg = small_run_config(family_config(family, distillers), data, work_dir,
                               max_iters=1, image_size=pair['image_size'])
        cfg.default_hooks.checkpoint = None
        cfg.log_level = 'ERROR'
        torch.manual_seed(0)
        runner = RUNNERS.build(cfg)
    except ValueError as error:
        return dict(outcome='refused', message=str(error))
    except Exception as error:  # noqa: BLE001 - every other failure is reported as one
        return dict(outcome='fails', message=f'at build: {_describe(error)}')
    try:
        runner.train()
        return _logged_losses(runner.message_hub.log_scalars)
    except Exception as error:  # noqa: BLE001
        return dict(outcome='fails', message=f'in the step: {_describe(error)}')
    finally:
        del runner
        gc.collect()


def _logged_losses(scalars: dict) -> dict:
    losses = {key[len('train/'):]: round(float(value.current()), 6)
              for key, value in scalars.items() if key.startswith('train/distill_')}
    if not losses:
        return dict(outcome='fails', message='no distillation loss was logged')
    if not all(math.isfinite(v) for v in losses.values()):
        return dict(outcome='fails', message=f'non-finite loss: {losses}')
    return dict(outcome='trains', message='', losses=losses)


def _describe(error: Exception) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1]
    return (f'{type(error).__name__}: {error} ({osp.relpath(where.filename, ROOT)}:'
            f'{where.lineno})').replace('\n', ' ')


def matrix_markdown(results: Dict[str, Dict[str, dict]], methods: List[str]) -> str:
    """The family x method table. Refusals and failures are numbered by reason: a method's
    messages that open alike (they differ in the detectors they name) share a note, which
    quotes the first and lists the families."""
    notes: Dict[tuple, dict] = {}
    rows = []
    for family, cases in results.items():
        row = [family]
        for method in methods:
            case = cases.get(method)
            if case is None:
                row.append('')
            elif case['outcome'] == 'trains':
                row.append('trains')
            else:
                message = ' '.join(case['message'].split())
                key = (method, case['outcome'], ' '.join(message.split()[:6]))
                note = notes.setdefault(key, dict(number=len(notes) + 1, message=message,
                                                  families=[]))
                note['families'].append(family)
                row.append(f"{case['outcome']} ({note['number']})")
        rows.append(row)
    table = markdown_table(['family'] + methods, rows)
    reasons = '\n'.join(f"{n['number']}. {n['message']} ({', '.join(n['families'])})"
                        for n in notes.values())
    return f'{table}\n\n{reasons}\n' if reasons else table + '\n'


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--families', nargs='+', default=list(ALL_FAMILIES),
                        choices=ALL_FAMILIES)
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--out-dir', default=osp.join(ROOT, 'work_dirs', 'family_matrix'))
    args = parser.parse_args(argv)
    hide_pkg_resources_warning()
    import mmkd  # noqa: F401 - registers the distillers
    from mmengine.registry import init_default_scope

    from mmkd.data import make_shapes_dataset
    init_default_scope('mmdet')
    os.makedirs(args.out_dir, exist_ok=True)
    started = time.time()
    json_path = osp.join(args.out_dir, 'family_matrix.json')
    results: Dict[str, Dict[str, dict]] = {}
    if osp.isfile(json_path):
        with open(json_path) as f:
            results = json.load(f)['results']
    with tempfile.TemporaryDirectory() as tmp:
        data = make_shapes_dataset(osp.join(tmp, 'data'), num_train=8, num_val=4,
                                   image_size=128, seed=0)
        for family in args.families:
            for method in args.methods:
                case_started = time.time()
                case = run_case(family, method, data, osp.join(tmp, family, method))
                case['seconds'] = round(time.time() - case_started, 1)
                results.setdefault(family, {})[method] = case
                print(f'{family:18s} {method:10s} {case["outcome"]:8s} '
                      f'{case["message"][:110]}', flush=True)
                # saved after every case: an interrupted run keeps what it measured
                _write(args.out_dir, results)
    print(f'wrote {args.out_dir}/family_matrix.{{json,md}} in {time.time() - started:.0f} s')


def _write(out_dir: str, results: Dict[str, Dict[str, dict]]) -> None:
    """family_matrix.json and .md, families and methods in their table order."""
    families = [f for f in ALL_FAMILIES if f in results]
    results = {family: results[family] for family in families}
    methods = [m for m in METHODS if any(m in cases for cases in results.values())]
    report = dict(machine=machine_info(), command='python tools/family_matrix.py', results=results)
    with open(osp.join(out_dir, 'family_matrix.json'), 'w') as f:
        json.dump(report, f, indent=1)
    with open(osp.join(out_dir, 'family_matrix.md'), 'w') as f:
        f.write(matrix_markdown(results, methods))
