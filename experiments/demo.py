"""The demo: a teacher, a student baseline and distilled students trained with
``tools/train.py`` on the configs in ``configs/demo/``, compared on one table.

Stages (each one ``python tools/train.py CONFIG`` in a subprocess):

1. the data: the generated shapes dataset (made once, reused), or the user's
   COCO-format dataset (``--dataset DIR``; read only: the configs for it are written to
   the work dir, with its classes and class count on every model);
2. with ``--pretrained``, the teacher's and the student's backbones pretrained with
   mmpretrain on object crops (:mod:`.pretrain`; the papers' regime, where backbones start
   from ImageNet weights), cached;
3. the teacher (a larger model trained 3x longer), reused when the work dir holds it;
4. for every seed: the student baseline and the student with each method, same
   iterations, with the configs' loss weights or automatic ones (``--weights``;
   automatic by default on a user's dataset); each run ends with mmdet's COCO
   evaluation on the val split.

Then one table (box AP, AP50, AP75, mask AP for Mask R-CNN, gain over the baseline and
the share of the teacher-student gap closed) is printed and written to ``results.json``
/ ``results.md``, with ``ap_bars.png`` and ``loss_curves.png``, in the work dir.
Detector families and methods are those of ``configs/demo/`` (see :mod:`.catalog`).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, NamedTuple, Tuple

from mmengine.config import Config, DictAction

from . import ROOT
from .catalog import (BASELINE, Method, backbone_pretraining, demo_config, demo_detectors,
                      demo_methods)
from .regime import (PRETRAINING_FIELDS, SUFFIX, compare_regimes, pretrain_backbones,
                     pretrained_regime_options, start_from_pretrained)
from .data import coco_folder, make_shapes_data, shapes_settings
from .errors import InputValueError
from .machine import hide_pkg_resources_warning, machine_info, subprocess_env
from .overrides import (auto_weight_options, data_root_options, schedule_options,
                        write_dataset_config)
from .plots import plot_ap, plot_losses
from .report import duration
from .results import describe_model, detector_title, results_markdown, results_table, summarize
from .stages import Stage, run_stage

DEFAULT_DETECTOR = 'faster-rcnn'
DEFAULT_METHODS = ('baseline', 'reviewkd', 'fgfi')  # those the detector has
# --weights: the configs' loss weights, automatic ones (model.loss_balance), or both.
WEIGHTS = ('config', 'auto', 'both')
# Iterations of the quick profile (the configs' own values are the full profile's).
QUICK = dict(teacher_iters=200, student_iters=80)


# ----------------------------------------------------------------------------- arguments
def parse_args(argv=None) -> argparse.Namespace:
    detectors = demo_detectors()
    parser = argparse.ArgumentParser(
        prog='tools/demo.py',
        description='Distillation demo: teacher, student baseline and distilled students '
        'trained on the CPU, evaluated with the COCO metric, on generated shapes data or on '
        'your own COCO-format dataset (--dataset).')
    parser.add_argument('--detector', choices=detectors, default=DEFAULT_DETECTOR,
                        help='detector family: configs/demo/<detector>_{teacher,student,'
                        f'<method>}}.py (default: {DEFAULT_DETECTOR})')
    parser.add_argument('--mask', action='store_true', help='short for --detector mask-rcnn '
                        '(box and mask AP)')
    parser.add_argument('--quick', action='store_true',
                        help=f"a few-minute run ({QUICK['teacher_iters']} teacher / "
                        f"{QUICK['student_iters']} student iterations): checks the pipeline, "
                        'too short to show distillation gains')
    parser.add_argument('--iters', type=int,
                        help='student iterations; the teacher trains proportionally longer '
                        '(3x in the configs) and the LR warm-up and step, the distillers\' '
                        'warm-ups and the checkpoints follow (default: the configs\' 300)')
    parser.add_argument('--pretrained', action='store_true',
                        help="the papers' regime: the teacher and the students start from "
                        'backbones pretrained with mmpretrain on object crops '
                        '(configs/demo/pretrain/; cut from a generated shapes set, or from '
                        "--dataset's train split), as real detectors start from ImageNet "
                        'weights; the pretraining is cached (see --pretrain-dir)')
    parser.add_argument('--work-dir', help='default: work_dirs/demo (work_dirs/demo_quick '
                        'with --quick, work_dirs/demo_<name> with --dataset; _pretrained '
                        'appended with --pretrained); a teacher found there is reused')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds of the students (the teacher is trained once)')
    parser.add_argument('--methods', nargs='+',
                        help="methods of configs/demo/<detector>_<method>.py or 'all' "
                        f"(default: {' '.join(DEFAULT_METHODS)}, those the detector has)")
    parser.add_argument('--threads', type=int,
                        help='CPU threads per training run (default: torch\'s default)')
    parser.add_argument('--retrain', action='store_true',
                        help='retrain the students even when finished runs with the same '
                        'settings are in the work dir (the teacher is still reused)')
    parser.add_argument('--retrain-teacher', action='store_true', help='retrain the teacher too')
    parser.add_argument('--verbose', action='store_true', help="show the Runner's full logs")
    parser.add_argument('--weights', choices=WEIGHTS,
                        help="the distillation losses' weights: 'config' as the configs set "
                        "them, 'auto' balanced from the run itself (model.loss_balance: each "
                        'distiller scaled to a fixed ratio of the detection loss over a '
                        "warm-up, then frozen), 'both' one run of each, on one table "
                        "(default: 'auto' with --dataset, else 'config')")
    parser.add_argument('--vary', nargs='+', default=[], metavar='METHOD:KEY=V1,V2',
                        help="train a method once per value of one of its config keys, "
                        'e.g. reviewkd:model.distillers.reviewkd.loss.loss_weight=0.2,0.6,1.2 '
                        '(a loss-weight sweep: run it on a tuning dataset, e.g. --data-seed 0 '
                        '--data-root data/shapes_tune, never on the reported one)')
    own = parser.add_argument_group(
        'your own data (COCO format; never written to)')
    own.add_argument('--dataset', metavar='DIR',
                     help='a folder with annotations/instances_{train,val}.json (or '
                     '..._{train,val}2017.json) and the images in {train,val}/, '
                     '{train,val}2017/ or images/; the classes are read from the '
                     'annotation files')
    for split in ('train', 'val'):
        own.add_argument(f'--{split}-ann', metavar='FILE',
                         help=f'the {split} annotation file, if not found in DIR')
        own.add_argument(f'--{split}-img', metavar='DIR',
                         help=f"the folder the {split} images' file_name are relative to")
    shapes = parser.add_argument_group('generated shapes data')
    shapes.add_argument('--data-root', help="where the dataset is generated (default: the "
                        "configs' data_root, data/shapes_demo/); never over other files")
    shapes.add_argument('--num-train', type=int)
    shapes.add_argument('--num-val', type=int)
    shapes.add_argument('--data-seed', type=int)
    dev = parser.add_argument_group('size overrides (tests, experiments)')
    dev.add_argument('--teacher-iters', type=int)
    dev.add_argument('--student-iters', type=int)
    dev.add_argument('--batch-size', type=int)
    dev.add_argument('--log-interval', type=int)
    dev.add_argument('--pretrain-dir', help='where --pretrained pretrains (default: the '
                     "pretraining configs' work_dir, work_dirs/demo/pretrain/; "
                     '<work dir>/pretrain with --dataset)')
    dev.add_argument('--pretrain-options', nargs='+', action=DictAction, default={},
                     metavar='KEY=VALUE', help='overrides of the pretraining configs, e.g. '
                     'train_cfg.max_iters=100 source_data.num_train=500')
    args = parser.parse_args(argv)

    if args.mask:
        args.detector = 'mask-rcnn'
    for name in ('iters', 'teacher_iters', 'student_iters', 'batch_size', 'num_train',
                 'num_val', 'log_interval', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.iters and (args.quick or args.teacher_iters or args.student_iters):
        parser.error('--iters sets both schedules: drop --quick, --teacher-iters and '
                     '--student-iters')
    explicit = [args.train_ann, args.val_ann, args.train_img, args.val_img]
    args.own_data = bool(args.dataset or any(explicit))
    if args.weights is None:
        args.weights = 'auto' if args.own_data else 'config'
    if args.own_data:
        shapes_only = [f'--{n.replace("_", "-")}' for n in ('data_root', 'num_train', 'num_val',
                                                            'data_seed')
                       if getattr(args, n) is not None]
        if shapes_only:
            parser.error(f"{', '.join(shapes_only)} set(s) the generated data, which "
                         '--dataset replaces')
        if not args.dataset and not all(explicit):
            parser.error('without --dataset DIR, give all of --train-ann, --val-ann, '
                         '--train-img and --val-img')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds has duplicates: {args.seeds}')
    args.pretraining_configs = {}
    if args.pretrained:
        args.pretraining_configs = {
            r: backbone_pretraining(demo_config(args.detector, r)) for r in ('teacher', 'student')}
        missing = [r for r, config in args.pretraining_configs.items() if config is None]
        if missing:
            parser.error(f"--pretrained: no config of configs/demo/pretrain/ pretrains the "
                         f"backbone of {args.detector}'s {' and '.join(missing)} (add "
                         f"'{args.detector}_{missing[0]}.py' to the BACKBONE_PRETRAINING entry "
                         'of experiments/settings.py of the one with its depth and width, or '
                         'write one)')

    available = demo_methods(args.detector)
    if args.methods is None:
        args.methods = [m for m in DEFAULT_METHODS if m in available] or list(available)
    if 'all' in args.methods:
        args.methods = list(available)
    unknown = [m for m in args.methods if m not in available]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}: choose among "
                     f"{', '.join(available)} or 'all' (configs/demo/{args.detector}_*.py)")
    args.methods = [BASELINE] + [m for m in dict.fromkeys(args.methods) if m != BASELINE]
    vary = {}
    for spec in args.vary:
        method, _, assignment = spec.partition(':')
        key, _, values = assignment.partition('=')
        if not (key and values) or method == BASELINE:
            parser.error(f"--vary {spec}: expected METHOD:KEY=V1,V2,... of a distillation "
                         'method, e.g. fgfi:model.distillers.fgfi.loss.loss_weight=0.01,0.02')
        if method not in args.methods:
            parser.error(f'--vary {spec}: {method} is not among the methods run '
                         f"({', '.join(args.methods)}); add it to --methods")
        if method in vary:
            parser.error(f'--vary: {method} is varied twice (one key per method)')
        vary[method] = (key, values.split(','))
    args.vary = vary
    return args


# ----------------------------------------------------------------------------- data
def prepare_data(args, detector: str, methods: List[str], work_dir: str):
    """The configs to train (name -> path), the ``--cfg-options`` every stage gets and a
    description of the data for the report."""
    catalog = demo_methods(detector)
    configs = dict(teacher=demo_config(detector, 'teacher'))
    configs.update({m: catalog[m].config for m in methods})
    if not args.own_data:
        data = shapes_settings(configs['baseline'])
        for key in ('num_train', 'num_val'):
            if getattr(args, key) is not None:
                data[key] = getattr(args, key)
        if args.data_seed is not None:
            data['seed'] = args.data_seed
        data['data_root'] = osp.abspath(args.data_root) if args.data_root else \
            osp.join(ROOT, data['data_root'].rstrip('/'))
        print(f"[data] shapes dataset in {data['data_root']}: {data['num_train']} train / "
              f"{data['num_val']} val images, {data['image_size']} px, seed {data['seed']}",
              flush=True)
        make_shapes_data(**data)
        return configs, data_root_options(data['data_root']), data

    folder = coco_folder(args.dataset, args.train_ann, args.val_ann, args.train_img,
                         args.val_img)
    metrics = Config.fromfile(configs['baseline']).val_evaluator.metric
    if 'segm' in metrics and not folder.has_masks:
        raise InputValueError(f'{folder.train.ann_file} has no segmentation annotations, '
                              f'which the {detector} demo (mask AP) needs: use a box-only '
                              f'detector, e.g. --detector {DEFAULT_DETECTOR}.')
    print(f'[data] {folder.root}: {folder.train.num_images} train images '
          f'({folder.train.num_instances} objects) / {folder.val.num_images} val images, '
          f"{len(folder.classes)} classes: {', '.join(folder.classes)}", flush=True)
    config_dir = osp.join(work_dir, 'configs')
    os.makedirs(config_dir, exist_ok=True)
    written = {}
    for name, config in configs.items():  # the teacher first: the others name it
        written[name] = write_dataset_config(
            config, folder, osp.join(config_dir, osp.basename(config)),
            teacher_config=written.get('teacher'))
    print(f'       configs for it written to {config_dir}/', flush=True)
    data = dict(dataset=folder.root, classes=list(folder.classes),
                train_ann=folder.train.ann_file, val_ann=folder.val.ann_file,
                train_img=folder.train.img_dir, val_img=folder.val.img_dir,
                num_train=folder.train.num_images, num_val=folder.val.num_images)
    return written, [], data


# ----------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    hide_pkg_resources_warning()
    args = parse_args(argv)
    started = time.perf_counter()
    detector = args.detector
    default_dir = ('demo_' + osp.basename(osp.abspath(args.dataset or args.train_ann
                                                      ).rstrip('/')) if args.own_data
                   else 'demo_quick' if args.quick else 'demo')
    default_dir += SUFFIX if args.pretrained else ''
    work_dir = osp.abspath(args.work_dir) if args.work_dir else \
        osp.join(ROOT, 'work_dirs', default_dir)
    os.makedirs(work_dir, exist_ok=True)

    catalog = demo_methods(detector)
    methods = []
    for method in args.methods:
        missing = catalog[method].unregistered()
        if missing:
            print(f"!! {method}: distiller {', '.join(missing)} is not registered in this "
                  'mmkd install; skipped.', flush=True)
            continue
        methods.append(method)
    configs, common, data = prepare_data(args, detector, methods, work_dir)
    if args.batch_size:
        common.append(f'train_dataloader.batch_size={args.batch_size}')
    env = subprocess_env(args.threads)

    backbones = pretrain_backbones(args, data, work_dir) if args.pretrained else {}

    # Stages.
    teacher_cfg = Config.fromfile(configs['teacher'])
    student_cfg = Config.fromfile(configs[BASELINE])
    teacher_iters, student_iters = schedule_lengths(args, teacher_cfg, student_cfg)
    teacher_stage = Stage(
        'teacher', configs['teacher'], osp.join(work_dir, f'{detector}_teacher'),
        common + schedule_options(teacher_cfg, teacher_iters, args.log_interval),
        f'teacher ({describe_model(teacher_cfg.model)})', teacher_iters)
    if backbones:
        start_from_pretrained(teacher_stage, backbones['teacher'], 'model.backbone')
    runs = method_runs(methods, args.vary, catalog, args.weights)
    student_stages = []
    for seed in args.seeds:
        for name, run in runs.items():
            cfg = Config.fromfile(configs[run.method])
            options = common + schedule_options(cfg, student_iters, args.log_interval)
            if backbones:
                options += pretrained_regime_options(cfg, configs[run.method])
            if run.auto_weights:
                options += auto_weight_options(cfg, student_iters, bool(backbones))
            options += [f'randomness.seed={seed}', *run.options]
            student_stages.append((name, seed, Stage(
                run.method, configs[run.method],
                osp.join(work_dir, f'{detector}_{run.folder}', f'seed{seed}'),
                options, f'{run.label} (seed {seed})', student_iters)))
            if backbones:
                start_from_pretrained(student_stages[-1][-1], backbones['student'],
                                      'model.backbone' if run.method == BASELINE
                                      else 'model.student.backbone')
    total = 1 + len(student_stages)

    teacher = run_stage(teacher_stage, env, args.retrain_teacher, args.verbose, 1, total,
                        started)
    teacher_ckpt = teacher.get('checkpoint')
    if not teacher_ckpt or not osp.isfile(teacher_ckpt):
        raise SystemExit(f'The teacher run in {teacher_stage.work_dir} left no checkpoint '
                         f'({teacher_ckpt}): rerun with --retrain-teacher.')
    students: Dict[str, Dict[int, dict]] = {name: {} for name in runs}
    for index, (name, seed, stage) in enumerate(student_stages, start=2):
        if stage.name != BASELINE:
            stage.options.append(f'model.teacher_ckpt={teacher_ckpt}')
            stage.depends_on = teacher.get('finished')  # a new teacher retrains these
        students[name][seed] = run_stage(stage, env, args.retrain, args.verbose, index,
                                         total, started)

    # Results.
    metrics = student_cfg.val_evaluator.metric
    kinds = [k for k in ('bbox', 'segm') if k in metrics]
    results = dict(
        detector=detector_title(teacher_cfg.model),
        kinds=kinds, seeds=args.seeds, methods_requested=args.methods,
        methods_skipped=[m for m in args.methods if m not in methods],
        models=dict(teacher=describe_model(teacher_cfg.model),
                    student=describe_model(student_cfg.model)),
        settings=dict(teacher_iters=teacher_iters, student_iters=student_iters,
                      batch_size=args.batch_size or student_cfg.train_dataloader.batch_size,
                      data=data, quick=args.quick, weights=args.weights,
                      vary={m: dict(key=k, values=v) for m, (k, v) in args.vary.items()},
                      pretraining={role: {k: record[k] for k in PRETRAINING_FIELDS}
                                   for role, record in backbones.items()}),
        teacher=dict(metrics=teacher['metrics'], seconds=teacher['seconds'],
                     sec_per_iter=teacher['sec_per_iter'], reused=teacher['reused'],
                     checkpoint=teacher_ckpt),
        methods=summarize(teacher, students, kinds,
                          labels={name: run.label for name, run in runs.items()}),
        reused_runs=int(teacher['reused']) + sum(r['reused'] for by_seed in students.values()
                                                 for r in by_seed.values()),
        command=' '.join(['python tools/demo.py',
                          *(argv if argv is not None else sys.argv[1:])]),
        machine=machine_info(args.threads),
        total_seconds=round(time.perf_counter() - started, 1))
    write_results(results, students, work_dir)
    regimes = compare_regimes(results, work_dir, args.pretrained)
    if regimes:
        print(f'\nBoth regimes (the other from its sibling work dir; {work_dir}/regimes.md):'
              f'\n\n{regimes}\n')
    return results


class MethodRun(NamedTuple):
    """What one student run of a seed trains: a method's config, with ``options``."""
    method: str
    folder: str         # of its runs in the work dir: <detector>_<folder>/seed<N>
    label: str
    options: List[str]  # --cfg-options on top of the demo's
    auto_weights: bool = False  # with model.loss_balance (see auto_weight_options)


def method_runs(methods: List[str], vary: Dict[str, Tuple[str, List[str]]],
                catalog: Dict[str, Method], weights: str = 'config') -> Dict[str, MethodRun]:
    """Name -> run: one per method, or one per value of a ``--vary`` key of the method
    (named ``'reviewkd:loss_weight=0.6'``, labelled ``'+ ReviewKD, loss_weight=0.6'``);
    with ``weights`` ``'auto'`` the distillation methods' runs balance their losses
    (named ``'reviewkd:auto'``, labelled ``'+ ReviewKD, auto weights'``, in folders
    ``<method>_auto``), with ``'both'`` each has a run of each kind."""
    modes = dict(config=(False, ), auto=(True, ), both=(False, True))[weights]
    runs = {}
    for method in methods:
        for auto in (False, ) if method == BASELINE else modes:
            name = f'{method}:auto' if auto else method
            folder = ('student' if method == BASELINE else method) + ('_auto' if auto else '')
            label = catalog[method].label + (', auto weights' if auto else '')
            if method not in vary:
                runs[name] = MethodRun(method, folder, label, [], auto)
                continue
            key, values = vary[method]
            leaf = key.rsplit('.', 1)[-1]
            for value in values:
                runs[f'{name}:{leaf}={value}'] = MethodRun(
                    method, f'{folder}_{leaf}{value}', f'{label}, {leaf}={value}',
                    [f'{key}={value}'], auto)
    return runs


def schedule_lengths(args, teacher_cfg: Config, student_cfg: Config):
    """Teacher and student iterations: ``--iters`` scales both (keeping the configs'
    ratio), ``--quick`` is a fixed short profile, the size overrides set each alone."""
    teacher_full, student_full = teacher_cfg.train_cfg.max_iters, student_cfg.train_cfg.max_iters
    if args.iters:
        return max(1, round(args.iters * teacher_full / student_full)), args.iters
    profile = QUICK if args.quick else dict(teacher_iters=teacher_full,
                                            student_iters=student_full)
    return (args.teacher_iters or profile['teacher_iters'],
            args.student_iters or profile['student_iters'])


def write_results(results: dict, students: Dict[str, Dict[int, dict]], work_dir: str) -> None:
    """results.json, results.md and the two plots in ``work_dir``; the table printed."""
    table = results_table(results)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(results_markdown(results, table))
    plot_ap(results, osp.join(work_dir, 'ap_bars.png'))
    plot_losses(results, {m: [r['curves'] for r in runs.values()]
                          for m, runs in students.items()},
                osp.join(work_dir, 'loss_curves.png'))
    data = results['settings']['data']
    split = f"the val split of {data['dataset']}" if 'dataset' in data else \
        'the val split of the generated data'
    print('\n' + table + '\n')
    print(f"{results['detector']}, {split}, COCO AP in %, {len(results['seeds'])} seed(s); "
          f"total time {duration(results['total_seconds'])}.")
    print(f'Written: {work_dir}/results.json, results.md, ap_bars.png, loss_curves.png')
