"""What a finished ``tools/train.py`` run logged: the final COCO metrics, loss curves and
time per iteration (from mmengine's ``vis_data/scalars.json``), and the checkpoint it
ended on; plus the one-line progress summaries of its console log."""
import json
import os
import os.path as osp
import re
import statistics
from typing import Optional

_ITER_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)\s+time: ([\d.]+)'
                        r'.*?\sloss: ([\d.]+)')


def progress_line(line: str) -> Optional[str]:
    """A short summary of a training iteration or COCO result line of the Runner's log
    (None for other lines)."""
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


def ap_metrics(coco: dict) -> dict:
    """``bbox_mAP_50`` style keys (fractions) -> ``bbox_AP50`` (percent)."""
    out = {}
    for kind in ('bbox', 'segm'):
        for name, key in (('AP', 'mAP'), ('AP50', 'mAP_50'), ('AP75', 'mAP_75'),
                          ('APs', 'mAP_s'), ('APm', 'mAP_m')):
            value = coco.get(f'{kind}_{key}')
            if value is not None:
                out[f'{kind}_{name}'] = round(100 * value, 2)
    return out


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a run saved last (mmengine's ``last_checkpoint`` record)."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip() or None


def read_run(work_dir: str) -> dict:
    """``dict(metrics, curves, checkpoint, sec_per_iter, scales)`` of the run in ``work_dir``:
    metrics of its final evaluation (percent), per logged iteration the summed detection
    (``loss_*``) and distillation (``distill_*loss*``) losses, the median time per
    iteration, and the last logged scale of each distiller with ``loss_balance``
    (``{name: scale}``, empty without)."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'No vis_data/scalars.json under {work_dir}: the run did not '
                                'log (see its train.log).')
    metrics, curves, times, scales = None, dict(iter=[], detection=[], distill=[]), [], {}
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
                                             if k.startswith('distill_') and 'loss' in k))
                times.append(row['time'])
                scales = {k[len('distill_'):-len('_scale')]: v for k, v in row.items()
                          if k.startswith('distill_') and k.endswith('_scale')}
    if metrics is None:
        metrics = _empty_result_metrics(work_dir, osp.join(work_dir, runs[-1]))
    return dict(metrics=ap_metrics(metrics), curves=curves, checkpoint=last_checkpoint(work_dir),
                sec_per_iter=statistics.median(times) if times else None, scales=scales)


EMPTY_RESULTS = 'The testing results of the whole dataset is empty.'  # mmdet's CocoMetric


def _empty_result_metrics(work_dir: str, run_dir: str) -> dict:
    """AP 0 for each evaluated kind when the final evaluation found no detection at all
    (mmdet's CocoMetric then logs no metric, only an error line: an untrained or very
    short run); otherwise the run has no final evaluation, which is an error."""
    log = osp.join(work_dir, 'train.log')
    if not (osp.isfile(log) and EMPTY_RESULTS in open(log).read()):
        raise ValueError(f'The run in {work_dir} logged no COCO metrics (no val at the end?).')
    from mmengine.config import Config
    metric = Config.fromfile(osp.join(run_dir, 'vis_data', 'config.py')).val_evaluator.metric
    kinds = [metric] if isinstance(metric, str) else list(metric)
    return {f'{kind}_{name}': 0. for kind in kinds if kind in ('bbox', 'segm')
            for name in ('mAP', 'mAP_50', 'mAP_75')}
