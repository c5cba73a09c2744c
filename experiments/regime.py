"""The demo's pretrained regime (``tools/demo.py --pretrained``): the teacher's and the
student's backbones pretrained with mmpretrain first (:mod:`.pretrain`), every stage then
started from them, as real detectors start from ImageNet weights; and the settings chosen
for students on pretrained backbones (:data:`.settings.PRETRAINED_REGIME`)."""
import json
import os.path as osp
from typing import Dict, List, Mapping, Optional

from mmengine.config import Config

from . import ROOT
from .catalog import DEMO_CONFIGS
from .pretrain import pretrain_backbone, pretrained_options
from .report import duration
from .results import regimes_table
from .settings import PRETRAINED_REGIME
from .stages import Stage, shown_path, stage_lock

# A --pretrained demo's default work dir is the from-scratch one's with this suffix.
SUFFIX = '_pretrained'
# What results.json records of each backbone pretraining.
PRETRAINING_FIELDS = ('config', 'checkpoint', 'iters', 'accuracy', 'seconds', 'crops')


def pretrained_regime_options(cfg: Config, config: str,
                              table: Mapping[str, Mapping[str, object]] = PRETRAINED_REGIME,
                              config_dir: str = DEMO_CONFIGS) -> List[str]:
    """``--cfg-options`` of the entry of ``table`` for ``config``'s file name (settings
    chosen for students on pretrained backbones, e.g. a loss weight; none for a config
    the table does not name), ``cfg`` being the loaded ``config`` (the demo's own, or the
    copy written for a user's dataset). Every name of the table is checked to be a config
    of ``config_dir`` and every key to exist in ``cfg``: a misspelt one would silently
    change nothing.

    Raises:
        SystemExit: the table names a config that does not exist, or a key that is not in
            the config.
    """
    unknown = [name for name in table if not osp.isfile(osp.join(config_dir, name))]
    if unknown:
        raise SystemExit(f"experiments/settings.py: PRETRAINED_REGIME names "
                         f"{', '.join(unknown)}, which is not a config of {config_dir}: fix "
                         'the name.')
    name = osp.basename(config)
    options, settings = [], cfg.to_dict()
    for key, value in table.get(name, {}).items():
        node = settings
        for part in key.split('.'):
            if not isinstance(node, dict) or part not in node:
                raise SystemExit(f"experiments/settings.py: PRETRAINED_REGIME['{name}'] "
                                 f"names '{key}', which is not in {config} (no '{part}'): "
                                 'fix the key.')
            node = node[part]
        options.append(f'{key}={value}')
    return options


def pretrain_backbones(args, data: dict, work_dir: str) -> Dict[str, dict]:
    """Pretrain (or reuse) the backbones of ``args.pretraining_configs`` (role -> config,
    found by :func:`.catalog.backbone_pretraining`): role -> the
    :func:`.pretrain.pretrain_backbone` record, with its ``config``. The crops are cut from
    the pretraining configs' generated shapes set into the configs' own folders (shared by
    every demo work dir, as ImageNet weights are by every detector), or from the user's
    train split into ``<work_dir>/pretrain/``."""
    source, pretrain_dir = None, args.pretrain_dir
    if args.own_data:
        source = dict(source_root=data['dataset'], ann_file=data['train_ann'],
                      img_dir=data['train_img'])
        pretrain_dir = pretrain_dir or osp.join(work_dir, 'pretrain')
    records = {}
    for role, config in args.pretraining_configs.items():
        name = osp.splitext(osp.basename(config))[0]
        cfg = Config.fromfile(config)
        # the generated source and the run's folders: the config's, from the repository root
        options = {'crop_data.source_root': osp.join(ROOT, cfg.crop_data.source_root),
                   **args.pretrain_options}
        run_dir = osp.join(pretrain_dir, name) if pretrain_dir else osp.join(ROOT, cfg.work_dir)
        crop_root = osp.join(pretrain_dir, 'crops') if pretrain_dir else \
            osp.join(ROOT, cfg.data_root)
        print(f'[pretrain] {role} backbone: mmpretrain ImageClassifier of '
              f'{shown_path(config)}', flush=True)
        with stage_lock(run_dir):
            record = pretrain_backbone(config, work_dir=run_dir, crop_root=crop_root,
                                       source=source, options=options, threads=args.threads,
                                       verbose=args.verbose)
        print(f"      {'reused' if record['reused'] else 'trained'}: {record['iters']} "
              f"iterations, top-1 {record['accuracy']:.1f} % on "
              f"{record['crops']['num_val']} held-out crops ({duration(record['seconds'])})",
              flush=True)
        records[role] = dict(record, config=shown_path(config))
    return records


def start_from_pretrained(stage: Stage, backbone: dict, module: str) -> None:
    """Make ``stage`` start ``module`` from the pretrained ``backbone`` (a record of
    :func:`pretrain_backbones`); a new pretraining retrains the stage."""
    stage.options += pretrained_options(backbone['checkpoint'], module)
    stage.backbone = dict(backbone['key'], finished=backbone['finished'])


def compare_regimes(results: dict, work_dir: str, pretrained: bool) -> Optional[str]:
    """The two-regime table (:func:`.results.regimes_table`) when the other regime's
    ``results.json`` is in the sibling work dir (``work_dirs/demo`` and
    ``work_dirs/demo_pretrained``) for the same detector, data and schedules; written to
    ``regimes.md`` in ``work_dir``. None when there is nothing to compare with."""
    work_dir = work_dir.rstrip('/')
    if pretrained and not work_dir.endswith(SUFFIX):
        return None
    other_dir = work_dir[:-len(SUFFIX)] if pretrained else work_dir + SUFFIX
    path = osp.join(other_dir, 'results.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        other = json.load(f)
    same = ('teacher_iters', 'student_iters', 'batch_size', 'data')
    if other['detector'] != results['detector'] or any(
            other['settings'][k] != results['settings'][k] for k in same):
        return None
    scratch, scratch_dir = (other, other_dir) if pretrained else (results, work_dir)
    on_pretrained, pretrained_dir = (results, work_dir) if pretrained else (other, other_dir)
    table = regimes_table(scratch, on_pretrained, results['kinds'][0])
    with open(osp.join(work_dir, 'regimes.md'), 'w') as f:
        f.write(f"{results['detector']}: from scratch ({shown_path(scratch_dir)}) and on "
                f'pretrained backbones ({shown_path(pretrained_dir)})\n\n{table}\n')
    return table
