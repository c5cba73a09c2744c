"""The demo's results: statistics over training seeds, the markdown table and report."""
import re
from typing import Dict, List, Optional

from mmkd.config import student_config

from .report import duration, markdown_table, mean_std

METRICS = ('AP', 'AP50', 'AP75')
KIND_NAMES = dict(bbox='box', segm='mask')


def summarize(teacher: dict, students: Dict[str, Dict[int, dict]], kinds: List[str],
              labels: Optional[Dict[str, str]] = None) -> dict:
    """Per method (``students[method][seed]`` = a run record with ``metrics``): metrics
    per seed, mean/std, gain over the baseline (paired by seed) and the share of the
    teacher-baseline gap closed; ``labels`` names the methods in tables and plots."""
    baseline = students['baseline']
    summary = {}
    for method, runs in students.items():
        seeds = sorted(runs)
        entry = dict(label=(labels or {}).get(method, method), seeds=seeds,
                     per_seed={str(s): runs[s]['metrics'] for s in seeds},
                     seconds={str(s): runs[s]['seconds'] for s in seeds},
                     sec_per_iter={str(s): runs[s]['sec_per_iter'] for s in seeds})
        if any(runs[s].get('scales') for s in seeds):  # loss_balance: the frozen scales
            entry['loss_scales'] = {str(s): runs[s]['scales'] for s in seeds}
        for kind in kinds:
            for metric in METRICS:
                key = f'{kind}_{metric}'
                entry[key] = mean_std([runs[s]['metrics'][key] for s in seeds])
            if method == 'baseline':
                continue
            key = f'{kind}_AP'
            paired = [runs[s]['metrics'][key] - baseline[s]['metrics'][key]
                      for s in seeds if s in baseline]
            gain = mean_std(paired)
            gap = teacher['metrics'][key] - entry[key]['mean'] + gain['mean']
            entry[f'{kind}_gain'] = dict(gain, per_seed=[round(p, 2) for p in paired],
                                         wins=sum(p > 0 for p in paired))
            entry[f'{kind}_gap_closed'] = round(100 * gain['mean'] / gap, 1) if gap > 0 else None
        summary[method] = entry
    return summary


def _stat(stat: dict, n: int) -> str:
    return f"{stat['mean']:.1f} ± {stat['std']:.1f}" if n > 1 else f"{stat['mean']:.1f}"


def results_table(results: dict) -> str:
    """The markdown table of the demo results."""
    kinds = results['kinds']
    header = ['model', 'seeds']
    for kind in kinds:
        header += [f'{KIND_NAMES[kind]} AP{m[2:]}' for m in METRICS]
    for kind in kinds:
        header += [f'gain ({KIND_NAMES[kind]} AP)', f'gap closed ({KIND_NAMES[kind]})']
    teacher = results['teacher']
    row = [f"teacher: {results['models']['teacher']}", '1']
    for kind in kinds:
        row += [f"{teacher['metrics'][f'{kind}_{m}']:.1f}" for m in METRICS]
    rows = [row + ['', ''] * len(kinds)]
    for method, entry in results['methods'].items():
        n = len(entry['seeds'])
        label = entry['label']
        if method == 'baseline':
            label += f": {results['models']['student']}"
        row = [label, str(n)]
        for kind in kinds:
            row += [_stat(entry[f'{kind}_{m}'], n) for m in METRICS]
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
    return markdown_table(header, rows)


def regimes_table(scratch: dict, pretrained: dict, kind: str = 'bbox') -> str:
    """Two demo results side by side, from scratch and on pretrained backbones: per model
    (the methods both ran) the AP, the gain over the baseline with the seeds it was up on,
    and the share of the teacher-student gap closed."""
    name = KIND_NAMES[kind]
    header = ['model']
    for regime in ('from scratch', 'pretrained'):
        header += [f'{regime}: {name} AP', 'gain', 'gap closed']
    teacher = ['teacher']
    for r in (scratch, pretrained):
        teacher += [f"{r['teacher']['metrics'][f'{kind}_AP']:.1f}", '', '']
    rows = [teacher]
    for method, entry in pretrained['methods'].items():
        if method not in scratch['methods']:
            continue
        row = [entry['label']]
        for r in (scratch, pretrained):
            e = r['methods'][method]
            n = len(e['seeds'])
            row.append(_stat(e[f'{kind}_AP'], n))
            if method == 'baseline':
                row += ['', '']
                continue
            gain = e[f'{kind}_gain']
            row.append(f"{gain['mean']:+.1f} ({gain['wins']}/{n} up)")
            gap = e[f'{kind}_gap_closed']
            row.append('' if gap is None else f'{gap:.0f}%')
        rows.append(row)
    return markdown_table(header, rows)


def describe_model(model: dict) -> str:
    """``'ResNet-18 x0.25 width, FPN 64 ch'``: backbone and neck of a detector config (the
    student's of a distillation config)."""
    model = student_config(model)
    backbone, neck = model.backbone, model.get('neck')
    if backbone.type == 'ResNet':
        width = backbone.get('base_channels', 64)
        name = f'ResNet-{backbone.depth}' + (f' x{width / 64:g} width' if width != 64 else '')
    else:
        name = backbone.type
    if neck is not None and 'out_channels' in neck:
        name += f', {neck.type} {neck.out_channels} ch'
    return name


def detector_title(model: dict) -> str:
    """``'Faster R-CNN'`` for a ``FasterRCNN`` config, else the model type."""
    return re.sub(r'RCNN$', ' R-CNN', str(model.type).split('.')[-1])


def results_markdown(results: dict, table: str) -> str:
    """results.md: the table, what it measured, on which machine, in how long."""
    s = results['settings']
    data = s['data']
    student_seconds = [t for m in results['methods'].values() for t in m['seconds'].values()]
    reused = results['reused_runs']
    if 'dataset' in data:
        title = f"{results['detector']} distillation on {data['dataset']}"
        val = (f"Val split: {data['num_val']} images of {data['dataset']} "
               f"({len(data['classes'])} classes: {', '.join(data['classes'])})")
    else:
        title = f"{results['detector']} distillation on generated shapes data"
        val = (f"Val split: {data['num_val']} generated images ({data['image_size']} px, "
               f"dataset seed {data['seed']})")
    lines = [
        f'## mmkd demo: {title}', '',
        f"Command: `{results['command']}`", '',
        table, '',
        val + '; COCO AP in %, mean ± std over the student training seeds; gain = paired '
        'difference to the baseline of the same seed; gap closed = gain / (teacher AP - '
        'baseline AP).',
        f"Teacher {s['teacher_iters']} iterations, students {s['student_iters']} iterations "
        f"each, batch {s['batch_size']}, " + _regime(s.get('pretraining')) + '.',
        f"Machine: {results['machine']['cpu']}, {results['machine']['threads']} thread(s). "
        f"Training + evaluation time per run: teacher {duration(results['teacher']['seconds'])}"
        f", students {duration(min(student_seconds))} to {duration(max(student_seconds))} "
        f"({duration(sum(student_seconds))} in all). This invocation took "
        f"{duration(results['total_seconds'])}"
        + (f" ({reused} of {1 + len(student_seconds)} runs reused from earlier invocations)"
           if reused else '') + '.',
    ]
    if results['methods_skipped']:
        skipped = ', '.join(results['methods_skipped'])
        lines.append(f'Skipped (distiller not registered): {skipped}.')
    return '\n'.join(lines) + '\n'


def _regime(pretraining: Optional[Dict[str, dict]]) -> str:
    """How the backbones started: 'from scratch', or from which pretraining."""
    if not pretraining:
        return 'from scratch'
    return 'backbones pretrained with mmpretrain (' + '; '.join(
        f"{role}: {p['iters']} iterations, {p['accuracy']:.1f} % top-1 on "
        f"{p['crops']['num_val']} held-out crops, {duration(p['seconds'])}"
        for role, p in pretraining.items()) + ')'
