"""The demo (tools/demo.py = experiments.demo) end to end on a drastically reduced
run, its summary arithmetic, and one benchmark case (tools/benchmark.py)."""
import glob
import json
import os
import os.path as osp
import re

import pytest

from experiments import benchmark, cost, demo, overrides, regime, results
from experiments.settings import AUTO_WEIGHTS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _final_coco_metrics(work_dir):
    """The last COCO metrics a run logged, read straight from its scalars.json."""
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    rows = [json.loads(line) for line in open(path)]
    return [r for r in rows if 'coco/bbox_mAP' in r][-1], [r for r in rows if 'loss' in r]


def test_demo_end_to_end(tmp_path, capsys):
    work_dir, data_root = str(tmp_path / 'demo'), str(tmp_path / 'data')
    argv = ['--work-dir', work_dir, '--data-root', data_root, '--num-train', '6',
            '--num-val', '3', '--teacher-iters', '2', '--student-iters', '2',
            '--batch-size', '2', '--log-interval', '1', '--methods', 'fitnet',
            '--threads', '1']
    results = demo.main(argv)
    out = capsys.readouterr().out
    assert re.search(r'\[1/3, \d+s elapsed\] teacher', out)
    assert '] student baseline (seed 0): 2 iterations' in out
    assert '] + FitNet (seed 0)' in out and 'iter    2/2' in out

    # numbers in the results are those the runs logged (mmdet's COCO metric, in %)
    teacher_metrics, _ = _final_coco_metrics(osp.join(work_dir, 'faster-rcnn_teacher'))
    assert results['teacher']['metrics']['bbox_AP'] == \
        pytest.approx(100 * teacher_metrics['coco/bbox_mAP'])
    aps = {}
    for method, folder in (('baseline', 'student'), ('fitnet', 'fitnet')):
        metrics, train_rows = _final_coco_metrics(
            osp.join(work_dir, f'faster-rcnn_{folder}', 'seed0'))
        aps[method] = 100 * metrics['coco/bbox_mAP']
        entry = results['methods'][method]
        assert entry['bbox_AP']['mean'] == pytest.approx(aps[method], abs=0.01)
        assert entry['bbox_AP50']['mean'] == pytest.approx(100 * metrics['coco/bbox_mAP_50'],
                                                           abs=0.01)
        assert [r['iter'] for r in train_rows] == [1, 2]
    # the distilled run trained against the teacher trained in stage 1
    assert any('distill_fitnet_loss' in r for r in _final_coco_metrics(
        osp.join(work_dir, 'faster-rcnn_fitnet', 'seed0'))[1])
    assert results['teacher']['checkpoint'] == osp.join(work_dir, 'faster-rcnn_teacher',
                                                        'iter_2.pth')
    assert osp.isfile(results['teacher']['checkpoint'])
    log = open(osp.join(work_dir, 'faster-rcnn_fitnet', 'seed0', 'train.log')).readline()
    assert f"model.teacher_ckpt={results['teacher']['checkpoint']}" in log
    assert results['methods']['fitnet']['bbox_gain']['mean'] == \
        pytest.approx(aps['fitnet'] - aps['baseline'], abs=0.02)

    # written outputs: JSON, markdown table, the two plots
    saved = json.load(open(osp.join(work_dir, 'results.json')))
    assert saved['methods']['fitnet']['per_seed']['0']['bbox_AP'] == \
        results['methods']['fitnet']['per_seed']['0']['bbox_AP']
    table = open(osp.join(work_dir, 'results.md')).read()
    assert '| model | seeds | box AP | box AP50 | box AP75 | gain (box AP) |' in table
    for row in ('| teacher: ResNet-34', '| student baseline: ResNet-18', '| + FitNet | 1 |'):
        assert row in table and row in out
    import matplotlib.pyplot as plt
    for name in ('ap_bars.png', 'loss_curves.png'):
        image = plt.imread(osp.join(work_dir, name))
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300

    # a rerun reuses every finished stage, the teacher included
    mtime = os.path.getmtime(results['teacher']['checkpoint'])
    again = demo.main(argv)
    assert again['teacher']['reused'] and 'reusing the finished run' in capsys.readouterr().out
    assert os.path.getmtime(results['teacher']['checkpoint']) == mtime
    assert again['methods']['fitnet']['bbox_AP'] == results['methods']['fitnet']['bbox_AP']


def test_one_stage_demo_end_to_end(tmp_path, capsys):
    """``--detector retinanet``: the same comparison with a one-stage teacher and student;
    FGFI takes its masks from the RetinaNet head's anchors."""
    work_dir = str(tmp_path / 'demo')
    results = demo.main([
        '--detector', 'retinanet', '--work-dir', work_dir, '--data-root', str(tmp_path / 'data'),
        '--num-train', '6', '--num-val', '3', '--teacher-iters', '2', '--student-iters', '2',
        '--batch-size', '2', '--log-interval', '1', '--methods', 'fgfi', '--threads', '1'])
    out = capsys.readouterr().out
    assert results['detector'] == 'RetinaNet'
    assert results['teacher']['checkpoint'] == osp.join(work_dir, 'retinanet_teacher',
                                                        'iter_2.pth')
    (scalars, ) = glob.glob(osp.join(work_dir, 'retinanet_fgfi', 'seed0', '*', 'vis_data',
                                     'scalars.json'))
    assert any('distill_fgfi_loss' in json.loads(line) for line in open(scalars))
    table = open(osp.join(work_dir, 'results.md')).read()
    for row in ('| teacher: ResNet-34', '| student baseline: ResNet-18', '| + FGFI | 1 |'):
        assert row in table and row in out


def test_pretrained_profile_end_to_end(tmp_path, capsys):
    """``--pretrained``: both backbones pretrained with mmpretrain first (a generated crop
    source of its own), every stage started from them through init_cfg Pretrained; a rerun
    reuses the pretraining and the stages."""
    import torch
    work_dir = str(tmp_path / 'demo')
    argv = ['--pretrained', '--work-dir', work_dir, '--data-root', str(tmp_path / 'data'),
            '--num-train', '6', '--num-val', '3', '--teacher-iters', '2',
            '--student-iters', '2', '--batch-size', '2', '--log-interval', '1',
            '--methods', 'fitnet', '--threads', '1',
            '--vary', 'fitnet:model.distillers.fitnet.loss.loss_weight=0.1,0.3',
            '--pretrain-dir', str(tmp_path / 'pretrain'), '--pretrain-options',
            'train_cfg.max_iters=2', 'train_dataloader.batch_size=8',
            f"crop_data.source_root={tmp_path / 'pretrain_source'}",
            'source_data.num_train=10', 'source_data.num_val=2', 'source_data.image_size=64']
    results = demo.main(argv)
    out = capsys.readouterr().out
    pretraining = results['settings']['pretraining']
    backbones = {role: pretraining[role]['checkpoint'] for role in ('teacher', 'student')}
    assert backbones == {
        'teacher': str(tmp_path / 'pretrain' / 'resnet34-half' / 'backbone.pth'),
        'student': str(tmp_path / 'pretrain' / 'resnet18-quarter' / 'backbone.pth')}
    assert pretraining['student']['crops']['classes'][-1] == 'background'
    assert '[pretrain] teacher backbone' in out and 'backbones pretrained with mmpretrain' in \
        open(osp.join(work_dir, 'results.md')).read()
    for folder, role, module in (('faster-rcnn_teacher', 'teacher', 'model.backbone'),
                                 ('faster-rcnn_student/seed0', 'student', 'model.backbone'),
                                 ('faster-rcnn_fitnet_loss_weight0.3/seed0', 'student',
                                  'model.student.backbone')):
        log = open(osp.join(work_dir, folder, 'train.log')).read()
        assert f'{module}.init_cfg.checkpoint={backbones[role]}' in log.splitlines()[0]
        assert f'from: {backbones[role]}' in log  # mmengine's Pretrained init ran
    # two steps at the warm-up LR leave the baseline's stem near its pretrained weights,
    # far from a random init
    pretrained = torch.load(backbones['student'])['state_dict']['backbone.conv1.weight']
    trained = torch.load(osp.join(work_dir, 'faster-rcnn_student', 'seed0', 'iter_2.pth'),
                         weights_only=False)['state_dict']['backbone.conv1.weight']
    assert (trained - pretrained).abs().max() < 5e-3 < (pretrained.std() / 2)

    # --vary: one run per weight, same seed and start, so the first distillation loss
    # (before any update) scales with the weight
    assert list(results['methods']) == ['baseline', 'fitnet:loss_weight=0.1',
                                        'fitnet:loss_weight=0.3']
    assert results['methods']['fitnet:loss_weight=0.3']['label'] == '+ FitNet, loss_weight=0.3'
    first = {w: _final_coco_metrics(osp.join(work_dir, f'faster-rcnn_fitnet_loss_weight{w}',
                                             'seed0'))[1][0]['distill_fitnet_loss']
             for w in ('0.1', '0.3')}
    assert first['0.3'] == pytest.approx(3 * first['0.1'], rel=1e-3) and first['0.1'] > 0

    again = demo.main(argv)
    out = capsys.readouterr().out
    assert out.count('      reused: 2 iterations') == 2
    assert again['reused_runs'] == 4


def test_pretrained_needs_a_pretraining_config_for_both_backbones(monkeypatch, capsys):
    monkeypatch.setattr(demo, 'backbone_pretraining',
                        lambda config: None if config.endswith('_student.py') else 'r34.py')
    with pytest.raises(SystemExit):
        demo.parse_args(['--pretrained'])
    assert ("no config of configs/demo/pretrain/ pretrains the backbone of faster-rcnn's "
            'student') in capsys.readouterr().err


def test_a_new_pretraining_retrains_the_stages_on_it():
    stage = demo.Stage('baseline', osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_student.py'),
                       '/tmp/unused', [], 'baseline', 2)
    scratch = stage.key()
    backbone = dict(checkpoint='/w/backbone.pth', key=dict(config='a', crops='b'),
                    finished='2026-12-01 10:00:00')
    regime.start_from_pretrained(stage, backbone, 'model.backbone')
    first = stage.key()
    assert first != scratch and 'model.backbone.init_cfg.checkpoint=/w/backbone.pth' in \
        stage.options
    stage.options, stage.backbone = [], None
    regime.start_from_pretrained(stage, dict(backbone, finished='2026-12-01 11:00:00'),
                                 'model.backbone')
    assert stage.key() != first  # same file, retrained: the runs on it are stale


def test_pretrained_regime_options_name_existing_configs_and_keys(tmp_path):
    from mmengine.config import Config
    config = tmp_path / 'method.py'
    config.write_text("model = dict(distillers=dict(fitnet=dict(loss=dict(loss_weight=0.2))))\n")
    cfg, path = Config.fromfile(str(config)), str(config)
    table = {'method.py': {'model.distillers.fitnet.loss.loss_weight': 1.5}}
    assert regime.pretrained_regime_options(cfg, path, table, str(tmp_path)) == \
        ['model.distillers.fitnet.loss.loss_weight=1.5']
    table = {'method.py': {'model.distillers.fitnt.loss.loss_weight': 1.5}}
    with pytest.raises(SystemExit, match="names 'model.distillers.fitnt.loss.loss_weight'.*"
                                         "no 'fitnt'"):
        regime.pretrained_regime_options(cfg, path, table, str(tmp_path))
    # a misspelt config name would apply to nothing: refused
    table = {'methd.py': {'model.distillers.fitnet.loss.loss_weight': 1.5}}
    with pytest.raises(SystemExit, match="PRETRAINED_REGIME names methd.py, which is not a "
                                         'config of'):
        regime.pretrained_regime_options(cfg, path, table, str(tmp_path))
    # the demo's own table, on every demo config (and on its copies written elsewhere)
    chosen = {}
    for path in glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py')):
        options = regime.pretrained_regime_options(Config.fromfile(path), path)
        if options:
            chosen[osp.basename(path)] = options
    assert chosen == {'faster-rcnn_fitnet.py': ['model.distillers.fitnet.loss.loss_weight=9.6'],
                      'faster-rcnn_fgfi.py': ['model.distillers.fgfi.loss.loss_weight=0.1'],
                      'faster-rcnn_reviewkd.py':
                      ['model.distillers.reviewkd.loss.loss_weight=9.6']}
    copy = tmp_path / 'faster-rcnn_fgfi.py'
    copy.write_text(f"_base_ = '{osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_fgfi.py')}'\n")
    assert regime.pretrained_regime_options(Config.fromfile(str(copy)), str(copy)) == \
        chosen['faster-rcnn_fgfi.py']


def test_backbone_pretraining_names_existing_configs(monkeypatch):
    from experiments import catalog
    demo_dir = osp.join(ROOT, 'configs', 'demo')
    for role, pretraining in (('teacher', 'resnet34-half.py'),
                              ('student', 'resnet18-quarter.py')):
        for detector in demo.demo_detectors():
            assert catalog.backbone_pretraining(osp.join(demo_dir, f'{detector}_{role}.py')) \
                == osp.join(demo_dir, 'pretrain', pretraining)
    assert catalog.backbone_pretraining(osp.join(demo_dir, 'faster-rcnn_fitnet.py')) is None
    monkeypatch.setitem(catalog.BACKBONE_PRETRAINING, 'resnet18-quarter.py',
                        ('faster-rcnn_studnt.py', ))
    with pytest.raises(SystemExit, match=r"BACKBONE_PRETRAINING\['resnet18-quarter.py'\] "
                                         'names .*faster-rcnn_studnt.py, which does not exist'):
        catalog.backbone_pretraining(osp.join(demo_dir, 'faster-rcnn_student.py'))
    monkeypatch.undo()
    monkeypatch.setitem(catalog.BACKBONE_PRETRAINING, 'resnet18-quartr.py', ())
    with pytest.raises(SystemExit, match="names resnet18-quartr.py, which is not a config"):
        catalog.backbone_pretraining(osp.join(demo_dir, 'faster-rcnn_student.py'))


def test_shapes_data_of_the_demo_configs(tmp_path):
    from experiments.data import shapes_settings
    expected = dict(data_root='data/shapes_demo/', num_train=1000, num_val=300,
                    image_size=128, max_objects=5, seed=1)
    for name in ('_base_/shapes_detection.py', 'faster-rcnn_student.py',
                 'mask-rcnn_fgfi.py', 'retinanet_teacher.py'):
        assert shapes_settings(osp.join(ROOT, 'configs', 'demo', name)) == expected
    other = tmp_path / 'other.py'
    other.write_text("data_root = 'data/coco/'\nimage_size = 128\n")
    with pytest.raises(ValueError, match="data_root 'data/coco/' is not one of "
                                         'data/shapes_demo/'):
        shapes_settings(str(other))


def test_a_run_without_detections_reports_ap_zero(tmp_path):
    """mmdet's COCO metric logs no metric when no image has a detection (an untrained
    RetinaNet scores below its threshold): the run counts as AP 0, not as unfinished."""
    from experiments.logs import EMPTY_RESULTS, read_run
    run_dir = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    run_dir.mkdir(parents=True)
    (run_dir / 'scalars.json').write_text(json.dumps(dict(iter=1, loss=1.5, time=0.2)) + '\n')
    (run_dir / 'config.py').write_text("val_evaluator = dict(type='CocoMetric', "
                                       "metric=['bbox', 'segm'])\n")
    log = tmp_path / 'run' / 'train.log'
    log.write_text('Iter(train) [1/1] ...\n')
    with pytest.raises(ValueError, match='logged no COCO metrics'):
        read_run(str(tmp_path / 'run'))
    log.write_text(f'Iter(train) [1/1] ...\nERROR - {EMPTY_RESULTS}\n')
    assert read_run(str(tmp_path / 'run'))['metrics'] == {
        f'{kind}_{name}': 0. for kind in ('bbox', 'segm') for name in ('AP', 'AP50', 'AP75')}


def test_logged_loss_scales_are_not_distillation_losses(tmp_path):
    """loss_balance logs distill_<name>_scale beside the losses: the distillation curve
    sums only the losses, the scales are read apart (their last logged value)."""
    from experiments.logs import read_run
    run_dir = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    run_dir.mkdir(parents=True)
    rows = [dict(iter=i, loss=2., time=0.2, loss_cls=1., distill_kd_loss=1., distill_kd_scale=s)
            for i, s in ((1, 4.), (2, 3.))] + [{'coco/bbox_mAP': 0.5}]
    (run_dir / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    run = read_run(str(tmp_path / 'run'))
    assert run['curves']['distill'] == [1., 1.] and run['scales'] == {'kd': 3.}


def test_a_stage_is_trained_by_one_process_at_a_time(tmp_path):
    from experiments.stages import stage_lock
    work_dir = str(tmp_path / 'faster-rcnn_student' / 'seed0')
    with stage_lock(work_dir):
        with pytest.raises(SystemExit, match='Another process is training the stage'):
            with stage_lock(work_dir):
                pass
    with stage_lock(work_dir):  # released with its holder
        pass


def _record(ap, seconds=1.0):
    return dict(metrics=dict(bbox_AP=ap, bbox_AP50=ap + 20, bbox_AP75=ap - 5), seconds=seconds,
                sec_per_iter=0.1)


def test_summary_gain_and_gap_closed():
    teacher = _record(30.0)
    students = dict(baseline={0: _record(10.0), 1: _record(12.0)},
                    reviewkd={0: _record(13.0), 1: _record(14.0)})
    summary = results.summarize(teacher, students, ['bbox'])
    review = summary['reviewkd']
    assert review['bbox_AP'] == dict(mean=13.5, std=pytest.approx(0.71, abs=0.01))
    # paired by seed: +3 and +2
    assert review['bbox_gain']['per_seed'] == [3.0, 2.0]
    assert review['bbox_gain']['mean'] == 2.5 and review['bbox_gain']['wins'] == 2
    # gap: teacher 30 - baseline mean 11 = 19; 2.5 / 19
    assert review['bbox_gap_closed'] == pytest.approx(100 * 2.5 / 19, abs=0.05)
    assert 'bbox_gain' not in summary['baseline']


def _results(teacher_ap, baseline, method, data_seed=1):
    """A demo's results dict: a teacher, a baseline and FGFI over len(baseline) seeds."""
    students = dict(baseline={s: _record(a) for s, a in enumerate(baseline)},
                    fgfi={s: _record(a) for s, a in enumerate(method)})
    summary = results.summarize(_record(teacher_ap), students, ['bbox'],
                                labels=dict(baseline='student baseline', fgfi='+ FGFI'))
    settings = dict(teacher_iters=900, student_iters=300, batch_size=8,
                    data=dict(seed=data_seed))
    return dict(detector='Faster R-CNN', kinds=['bbox'], settings=settings,
                teacher=_record(teacher_ap), methods=summary)


def test_regimes_table_puts_both_regimes_side_by_side():
    run = _results
    table = results.regimes_table(run(30.0, [10.0, 12.0], [13.0, 11.0]),
                                  run(40.0, [20.0, 22.0], [26.0, 24.0]))
    assert table.splitlines()[0] == ('| model | from scratch: box AP | gain | gap closed | '
                                     'pretrained: box AP | gain | gap closed |')
    assert '| teacher | 30.0 |  |  | 40.0 |  |  |' in table
    # scratch: +3 and -1 -> +1.0, 1 of 2 up, 1/19; pretrained: +6, +2 -> +4.0, 4/19
    assert '| + FGFI | 12.0 ± 1.4 | +1.0 (1/2 up) | 5% | 25.0 ± 1.4 | +4.0 (2/2 up) | 21% |' \
        in table


def test_the_other_regime_is_found_in_the_sibling_work_dir(tmp_path):
    scratch, pretrained = _results(30.0, [10.0], [13.0]), _results(40.0, [20.0], [26.0])
    for folder in ('demo', 'demo_pretrained'):
        os.makedirs(tmp_path / folder)
    assert regime.compare_regimes(pretrained, str(tmp_path / 'demo_pretrained'), True) is None
    with open(tmp_path / 'demo' / 'results.json', 'w') as f:
        json.dump(scratch, f)
    table = regime.compare_regimes(pretrained, str(tmp_path / 'demo_pretrained/'), True)
    assert '| + FGFI | 13.0 | +3.0 (1/1 up) | 15% | 26.0 | +6.0 (1/1 up) | 30% |' in table
    assert table in open(tmp_path / 'demo_pretrained' / 'regimes.md').read()
    with open(tmp_path / 'demo_pretrained' / 'results.json', 'w') as f:
        json.dump(pretrained, f)
    assert regime.compare_regimes(scratch, str(tmp_path / 'demo'), False) == table
    # other data, or a work dir not named as the sibling: nothing to compare with
    assert regime.compare_regimes(_results(40.0, [20.0], [26.0], data_seed=0),
                                  str(tmp_path / 'demo_pretrained'), True) is None
    assert regime.compare_regimes(pretrained, str(tmp_path / 'elsewhere'), True) is None


def test_schedule_options_scale_the_configs():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_fgfi.py'))
    assert overrides.schedule_options(cfg, cfg.train_cfg.max_iters, None) == []
    options = overrides.schedule_options(cfg, 60, 5)
    assert 'train_cfg.max_iters=60' in options and 'param_scheduler.1.milestones=[48]' in options
    # the warm-ups shrink with the schedule (50 of 300 -> 10 of 60)
    assert 'param_scheduler.0.end=10' in options
    assert 'model.distillers.fgfi.warmup_iters=10' in options
    assert 'default_hooks.logger.interval=5' in options


def test_auto_weights_runs_beside_the_configs_weights():
    """--weights both: each distillation method once with the configs' weights and once
    balanced (its own folder and label); --vary applies to both; the balance warm-up
    follows the schedule."""
    from mmengine.config import Config
    catalog = demo.demo_methods('faster-rcnn')
    args = demo.parse_args(['--methods', 'fgd', '--weights', 'both',
                            '--vary', 'fgd:model.distillers.fgd.loss.temperature=0.5,1'])
    runs = demo.method_runs(args.methods, args.vary, catalog, args.weights)
    vary = 'model.distillers.fgd.loss.temperature='
    assert {name: (run.folder, run.label, run.options, run.auto_weights)
            for name, run in runs.items()} == {
        'baseline': ('student', 'student baseline', [], False),
        'fgd:temperature=0.5': ('fgd_temperature0.5', '+ FGD, temperature=0.5',
                                [vary + '0.5'], False),
        'fgd:temperature=1': ('fgd_temperature1', '+ FGD, temperature=1', [vary + '1'], False),
        'fgd:auto:temperature=0.5': ('fgd_auto_temperature0.5',
                                     '+ FGD, auto weights, temperature=0.5', [vary + '0.5'],
                                     True),
        'fgd:auto:temperature=1': ('fgd_auto_temperature1', '+ FGD, auto weights, temperature=1',
                                   [vary + '1'], True)}
    assert demo.parse_args([]).weights == 'config'
    assert demo.parse_args(['--dataset', 'x']).weights == 'auto'
    fgd = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_fgd.py'))
    # the distillers' own ratio with pretrained backbones (a feature loss's, a prediction
    # loss's; none written for a mix), the demo's own from scratch
    assert overrides.auto_weight_options(fgd, 60, pretrained=True) == [
        'model.loss_balance.ratio=8.0', 'model.loss_balance.warmup_iters=10']
    kd = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_kd.py'))
    assert overrides.auto_weight_options(kd, 60, pretrained=True)[0] == \
        'model.loss_balance.ratio=1.0'
    fgd.model.distillers.kd = kd.model.distillers.kd
    assert overrides.auto_weight_options(fgd, 60, pretrained=True) == [
        'model.loss_balance.warmup_iters=10']
    assert overrides.auto_weight_options(fgd, 60, pretrained=False) == [
        f"model.loss_balance.ratio={AUTO_WEIGHTS['ratio_from_scratch']}",
        'model.loss_balance.warmup_iters=10']
    student = Config(dict(model=dict(type='FasterRCNN'), train_cfg=dict(max_iters=300)))
    assert overrides.auto_weight_options(student, 60, pretrained=True) == []


@pytest.mark.parametrize('argv, message', [
    (['--methods', 'fitnet', 'dkd'], "unknown method(s) dkd"),
    (['--seeds', '0', '0'], '--seeds has duplicates'),
    (['--student-iters', '0'], '--student-iters must be >= 1'),
    (['--vary', 'fgfi:loss_weight'], 'expected METHOD:KEY=V1,V2'),
    (['--methods', 'fgfi', '--vary', 'kd:a.b=1,2'], 'kd is not among the methods run'),
    (['--vary', 'baseline:a=1'], 'of a distillation method'),
])
def test_bad_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(argv)
    assert message in capsys.readouterr().err


def test_demo_configs_train_and_distill_the_same_student():
    """Every distilled demo config wraps exactly the baseline student and the demo teacher."""
    from mmengine.config import Config
    for detector in ('faster-rcnn', 'mask-rcnn'):
        student = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                           f'{detector}_student.py')).model
        teacher = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                           f'{detector}_teacher.py'))
        masks_only = ('maskkd', ) if detector == 'mask-rcnn' else ()
        for method in ('fitnet', 'reviewkd', 'fgfi', 'kd') + masks_only:
            cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', f'{detector}_{method}.py'))
            assert cfg.model.student.to_dict() == student.to_dict()
            assert cfg.model.teacher == osp.join(ROOT, 'configs', 'demo',
                                                 f'{detector}_teacher.py')
            assert cfg.model.teacher_ckpt == \
                f'{teacher.work_dir}/iter_{teacher.train_cfg.max_iters}.pth'
            assert cfg.train_cfg.max_iters == teacher.train_cfg.max_iters // 3


def test_benchmark_case_ratio(tmp_path):
    case = dict(detector='faster-rcnn', method='fitnet', pair='demo',
                config=benchmark.config_for('faster', 'fitnet', 'demo'), image_size=64,
                batch_size=1, iters=2, warmup=0, threads=1, device='cpu')
    result = cost.run_case(case)
    assert len(result['step_s_all']) == 2
    assert result['floor_s'] == pytest.approx(result['student_s'] + result['teacher_s'])
    assert result['ratio'] == pytest.approx(result['step_s'] / result['floor_s'])
    assert 0 < result['teacher_s'] < result['step_s']
    assert result['peak_rss_mb'] > 100
    # operators: FitNet's adapters and MSE add some to the student's and teacher's
    assert result['student_ops'] > result['teacher_ops'] > 0
    assert result['extra_ops'] == result['step_ops'] - result['student_ops']
    assert result['distill_ops'] == result['extra_ops'] - result['teacher_ops'] > 0


def test_operator_count_is_deterministic():
    """The count of a training step's operators (tools/benchmark.py's ops columns) is the
    same on every call, and counts forward, backward and update."""
    import torch
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, foreach=True)
    inputs = torch.randn(2, 3, 8, 8)

    def step():
        optimizer.zero_grad()
        model(inputs).sum().backward()
        optimizer.step()

    step()  # the first backward creates the .grad tensors with other operators
    counts = [cost.count_aten_ops(step) for _ in range(3)]
    assert counts[0] == counts[1] == counts[2]
    # conv2d, relu, sum; ones_like, expand, threshold_backward, convolution_backward;
    # the update: at least one operator
    assert counts[0] >= 8


# ----------------------------------------------------------------------------- own data
def _write_coco_folder(root, num_train=16, num_val=8, size=80):
    """A COCO-format dataset unlike the shapes data: PIL-drawn discs and wedges on smooth
    gradients, two classes with non-consecutive ids (7, 3), mmdet's 2017 folder names."""
    import numpy as np
    from PIL import Image, ImageDraw
    rng = np.random.default_rng(5)
    categories = [dict(id=7, name='disc'), dict(id=3, name='wedge')]
    os.makedirs(osp.join(root, 'annotations'))
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, f'{split}2017'))
        images, annotations = [], []
        for image_id in range(1, count + 1):
            ramp = np.linspace(30, 200, size)[None, :, None] * rng.uniform(0.5, 1, 3)
            image = Image.fromarray(np.broadcast_to(ramp, (size, size, 3)).astype(np.uint8))
            draw = ImageDraw.Draw(image)
            for _ in range(int(rng.integers(1, 3))):
                category = categories[int(rng.integers(2))]
                w, h = rng.integers(16, 36, 2)
                x, y = rng.integers(0, size - w), rng.integers(0, size - h)
                colour = tuple(int(c) for c in rng.integers(0, 256, 3))
                if category['name'] == 'disc':
                    draw.ellipse([x, y, x + w, y + h], fill=colour)
                    polygon = [x, y + h / 2, x + w / 2, y, x + w, y + h / 2, x + w / 2, y + h]
                else:
                    polygon = [x, y + h, x + w, y + h, x + w / 2, y]
                    draw.polygon(polygon, fill=colour)
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=category['id'],
                    bbox=[float(x), float(y), float(w), float(h)], area=float(w * h) / 2,
                    segmentation=[[float(v) for v in polygon]], iscrowd=0))
            file_name = f'img_{image_id:03d}.jpg'
            image.save(osp.join(root, f'{split}2017', file_name))
            images.append(dict(id=image_id, file_name=file_name, width=size, height=size))
        with open(osp.join(root, 'annotations', f'instances_{split}2017.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)


def _folder_digest(root):
    import hashlib
    digest = hashlib.sha1()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(folder, name)
            digest.update(osp.relpath(path, root).encode())
            digest.update(open(path, 'rb').read())
    return digest.hexdigest(), sum(len(files) for _, _, files in os.walk(root))


def test_demo_on_own_coco_dataset(tmp_path, capsys):
    """--dataset: the classes of the annotation file reach teacher and student, the whole
    schedule follows --iters, the distillation losses are balanced automatically, the
    table is written, the dataset folder is left alone."""
    import torch
    data_dir, work_dir = str(tmp_path / 'my_data'), str(tmp_path / 'work')
    _write_coco_folder(data_dir)
    before = _folder_digest(data_dir)
    results = demo.main(['--dataset', data_dir, '--work-dir', work_dir, '--iters', '1',
                         '--methods', 'kd', '--batch-size', '2', '--log-interval', '1',
                         '--threads', '1'])
    out = capsys.readouterr().out
    assert _folder_digest(data_dir) == before and before[1] == 16 + 8 + 2

    assert 'disc, wedge' in out and '16 train images' in out
    data = results['settings']['data']
    assert data['classes'] == ['disc', 'wedge'] and data['num_val'] == 8
    assert data['train_img'] == osp.join(data_dir, 'train2017')
    # --iters 1: the teacher trains 3x longer (the configs' 900 / 300), warm-ups shrink
    assert (results['settings']['teacher_iters'], results['settings']['student_iters']) == (3, 1)
    teacher_log = open(osp.join(work_dir, 'faster-rcnn_teacher', 'train.log')).readline()
    assert 'train_cfg.max_iters=3' in teacher_log and 'param_scheduler.0.end=1' in teacher_log
    # the checkpoint the teacher ended on is the one the students learn from
    assert results['teacher']['checkpoint'] == osp.join(work_dir, 'faster-rcnn_teacher',
                                                        'iter_3.pth')
    kd_log = open(osp.join(work_dir, 'faster-rcnn_kd_auto', 'seed0', 'train.log')).readline()
    assert f"model.teacher_ckpt={results['teacher']['checkpoint']}" in kd_log
    # automatic loss weights by default (the from-scratch ratio), their warm-up shrunk with
    # the schedule
    assert results['settings']['weights'] == 'auto'
    assert 'model.loss_balance.ratio=1.0 model.loss_balance.warmup_iters=1' in kd_log
    assert set(results['methods']['kd:auto']['loss_scales']['0']) == {'kd'}

    # two classes (+ background) in the teacher, the baseline and the distilled student
    def cls_rows(path, prefix=''):
        state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
        return state[prefix + 'roi_head.bbox_head.fc_cls.weight'].shape[0]
    assert cls_rows(results['teacher']['checkpoint']) == 3
    assert cls_rows(osp.join(work_dir, 'faster-rcnn_student', 'seed0', 'iter_1.pth')) == 3
    assert cls_rows(osp.join(work_dir, 'faster-rcnn_kd_auto', 'seed0', 'iter_1.pth'),
                    'student.') == 3
    from mmengine.config import Config
    kd_cfg = Config.fromfile(osp.join(work_dir, 'configs', 'faster-rcnn_kd.py'))
    assert kd_cfg.model.teacher.cfg_path == osp.join(work_dir, 'configs',
                                                     'faster-rcnn_teacher.py')
    assert kd_cfg.train_dataloader.dataset.metainfo.classes == ['disc', 'wedge']
    # the KD loss (teacher's RoI head on the student's RoIs) ran: both heads agree
    assert any('distill_kd_loss' in r and 'distill_kd_scale' in r for r in _final_coco_metrics(
        osp.join(work_dir, 'faster-rcnn_kd_auto', 'seed0'))[1])

    table = open(osp.join(work_dir, 'results.md')).read()
    assert f'distillation on {data_dir}' in table and '| + KD, auto weights | 1 |' in table
    assert "2 classes: disc, wedge" in table
    for name in ('results.json', 'ap_bars.png', 'loss_curves.png'):
        assert osp.isfile(osp.join(work_dir, name))


def test_own_dataset_errors_name_the_fix(tmp_path):
    from experiments.data import coco_folder, make_shapes_data
    root = str(tmp_path / 'data')
    with pytest.raises(FileNotFoundError, match='Dataset folder .* does not exist'):
        coco_folder(root)
    _write_coco_folder(root, num_train=2, num_val=1, size=48)
    found = coco_folder(root)
    assert found.classes == ('disc', 'wedge') and found.has_masks
    assert found.val.ann_file == osp.join(root, 'annotations', 'instances_val2017.json')
    # a dataset is never overwritten by the generated one
    with pytest.raises(FileExistsError, match='use --dataset'):
        make_shapes_data(root, num_train=2, num_val=1)
    # the image folder is looked for, and named when missing
    os.rename(osp.join(root, 'val2017'), osp.join(root, 'elsewhere'))
    with pytest.raises(FileNotFoundError, match='--val-img DIR'):
        coco_folder(root)
    assert coco_folder(root, val_img=osp.join(root, 'elsewhere')).val.num_images == 1
    # both splits must have the same classes
    val_ann = osp.join(root, 'annotations', 'instances_val2017.json')
    coco = json.load(open(val_ann))
    coco['categories'] = coco['categories'][::-1]
    json.dump(coco, open(val_ann, 'w'))
    with pytest.raises(ValueError, match='different categories'):
        coco_folder(root, val_img=osp.join(root, 'elsewhere'))


@pytest.mark.parametrize('argv, message', [
    (['--dataset', 'x', '--num-train', '5'], '--num-train set(s) the generated data'),
    (['--train-ann', 'a.json'], 'give all of --train-ann'),
    (['--iters', '10', '--quick'], '--iters sets both schedules'),
])
def test_own_data_arguments_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(argv)
    assert message in capsys.readouterr().err


def test_iters_scales_teacher_and_student():
    from mmengine.config import Config
    teacher = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_teacher.py'))
    student = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_student.py'))
    assert demo.schedule_lengths(demo.parse_args(['--iters', '40']), teacher, student) == (120, 40)
    assert demo.schedule_lengths(demo.parse_args([]), teacher, student) == (900, 300)
    assert demo.schedule_lengths(demo.parse_args(['--quick']), teacher, student) == (200, 80)


def test_methods_and_detectors_come_from_the_configs_present(tmp_path):
    """A config file named by the convention is a demo method; no code lists them."""
    import shutil
    from experiments import catalog
    from experiments.catalog import demo_detectors, demo_methods
    config_dir = tmp_path / 'demo'
    shutil.copytree(osp.join(ROOT, 'configs', 'demo'), config_dir)
    (config_dir / 'faster-rcnn_fitnet2.py').write_text(
        "_base_ = './faster-rcnn_fitnet.py'\n"
        "model = dict(distillers=dict(fitnet=dict(loss=dict(loss_weight=0.5))))\n")
    assert {'faster-rcnn', 'mask-rcnn'} <= set(demo_detectors(str(config_dir)))
    methods = demo_methods('faster-rcnn', str(config_dir))
    assert list(methods)[0] == 'baseline' and 'teacher' not in methods
    assert catalog.distiller_types(methods['fitnet2'].config) == ('FitNet', )
    assert methods['fitnet2'].label == '+ FitNet' and not methods['fitnet2'].unregistered()
    assert benchmark.config_for('faster', 'reviewkd', 'r101-r18') == osp.join(
        ROOT, 'configs', 'reviewkd', 'faster-rcnn_r101-r18_fpn_1x_coco.py')


def test_the_installed_package_never_imports_the_harness():
    """``experiments`` is the checkout's harness, not installed: no module of ``mmkd``
    may import it (an installed mmkd would fail to import)."""
    import ast
    importers = []
    for path in glob.glob(osp.join(ROOT, 'mmkd', '**', '*.py'), recursive=True):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ''] if isinstance(node, ast.ImportFrom) and not node.level \
                else []
            if any(n == 'experiments' or n.startswith('experiments.') for n in names):
                importers.append(osp.relpath(path, ROOT))
    assert glob.glob(osp.join(ROOT, 'mmkd', '**', '*.py'), recursive=True)
    assert importers == []


def test_a_bad_dataset_is_named_without_a_traceback(tmp_path):
    """tools/demo.py --dataset on unusable data: the check's message on stderr, exit status
    2, no traceback, nothing trained."""
    import subprocess
    import sys
    empty, bad_json, no_boxes = (tmp_path / n for n in ('empty', 'bad_json', 'no_boxes'))
    empty.mkdir()
    _write_coco_folder(str(bad_json), num_train=1, num_val=1, size=48)
    (bad_json / 'annotations' / 'instances_train2017.json').write_text('{"images": [')
    _write_coco_folder(str(no_boxes), num_train=1, num_val=1, size=48)
    train_ann = no_boxes / 'annotations' / 'instances_train2017.json'
    train_ann.write_text(json.dumps(dict(json.loads(train_ann.read_text()), annotations=[])))
    for dataset, message in ((tmp_path / 'missing', 'Dataset folder .* does not exist'),
                             (empty, 'No train annotation file in .*--train-ann FILE'),
                             (bad_json, 'Cannot read the COCO annotation file'),
                             (no_boxes, '.*train2017.json has no annotations: nothing to')):
        proc = subprocess.run(
            [sys.executable, osp.join(ROOT, 'tools', 'demo.py'), '--dataset', str(dataset),
             '--work-dir', str(tmp_path / 'work')],
            cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert re.search('^tools/demo.py: error: ' + message, proc.stderr, re.M), proc.stderr
        assert 'Traceback' not in proc.stderr and 'iterations of' not in proc.stdout


def test_only_the_checks_errors_lose_their_traceback(capsys):
    from experiments.errors import InputNotFoundError, run_command

    def bad_input():
        raise InputNotFoundError('Dataset folder /x does not exist.')

    with pytest.raises(SystemExit) as exit_info:
        run_command(bad_input, 'tools/demo.py')
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == 'tools/demo.py: error: Dataset folder /x does not exist.\n'

    def bug():
        raise ValueError('not a check: a bug')

    with pytest.raises(ValueError, match='a bug'):  # propagates, with its traceback
        run_command(bug, 'tools/demo.py')
