"""The demo (tools/demo.py) end to end on a drastically reduced run, its summary arithmetic,
and one benchmark case (tools/benchmark.py)."""
import glob
import importlib.util
import json
import os
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(f'mmkd_tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def demo():
    return _load_tool('demo')


def _final_coco_metrics(work_dir):
    """The last COCO metrics a run logged, read straight from its scalars.json."""
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    rows = [json.loads(line) for line in open(path)]
    return [r for r in rows if 'coco/bbox_mAP' in r][-1], [r for r in rows if 'loss' in r]


def test_demo_end_to_end(demo, tmp_path, capsys):
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


def _record(ap, seconds=1.0):
    return dict(metrics=dict(bbox_AP=ap, bbox_AP50=ap + 20, bbox_AP75=ap - 5), seconds=seconds,
                sec_per_iter=0.1)


def test_summary_gain_and_gap_closed(demo):
    teacher = _record(30.0)
    students = dict(baseline={0: _record(10.0), 1: _record(12.0)},
                    reviewkd={0: _record(13.0), 1: _record(14.0)})
    summary = demo.summarize(teacher, students, ['bbox'])
    review = summary['reviewkd']
    assert review['bbox_AP'] == dict(mean=13.5, std=pytest.approx(0.71, abs=0.01))
    # paired by seed: +3 and +2
    assert review['bbox_gain']['per_seed'] == [3.0, 2.0]
    assert review['bbox_gain']['mean'] == 2.5 and review['bbox_gain']['wins'] == 2
    # gap: teacher 30 - baseline mean 11 = 19; 2.5 / 19
    assert review['bbox_gap_closed'] == pytest.approx(100 * 2.5 / 19, abs=0.05)
    assert 'bbox_gain' not in summary['baseline']


def test_schedule_options_scale_the_configs(demo):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_fgfi.py'))
    assert demo.schedule_options(cfg, cfg.train_cfg.max_iters, None) == []
    options = demo.schedule_options(cfg, 60, 5)
    assert 'train_cfg.max_iters=60' in options and 'param_scheduler.1.milestones=[48]' in options
    # the warm-ups shrink with the schedule (50 of 300 -> 10 of 60)
    assert 'param_scheduler.0.end=10' in options
    assert 'model.distillers.fgfi.warmup_iters=10' in options
    assert 'default_hooks.logger.interval=5' in options


@pytest.mark.parametrize('argv, message', [
    (['--methods', 'fitnet', 'dkd'], "unknown method(s) dkd"),
    (['--seeds', '0', '0'], '--seeds has duplicates'),
    (['--student-iters', '0'], '--student-iters must be >= 1'),
])
def test_bad_arguments_are_named(demo, argv, message, capsys):
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
        for method in ('fitnet', 'reviewkd', 'fgfi', 'kd'):
            cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', f'{detector}_{method}.py'))
            assert cfg.model.student.to_dict() == student.to_dict()
            assert cfg.model.teacher == osp.join(ROOT, 'configs', 'demo',
                                                 f'{detector}_teacher.py')
            assert cfg.model.teacher_ckpt == \
                f'{teacher.work_dir}/iter_{teacher.train_cfg.max_iters}.pth'
            assert cfg.train_cfg.max_iters == teacher.train_cfg.max_iters // 3


def test_benchmark_case_ratio(tmp_path):
    benchmark = _load_tool('benchmark')
    case = dict(detector='faster-rcnn', method='fitnet', pair='demo',
                config=benchmark.config_for('faster', 'fitnet', 'demo'), image_size=64,
                batch_size=1, iters=2, warmup=0, threads=1, device='cpu')
    result = benchmark.run_case(case)
    assert len(result['step_s_all']) == 2
    assert result['floor_s'] == pytest.approx(result['student_s'] + result['teacher_s'])
    assert result['ratio'] == pytest.approx(result['step_s'] / result['floor_s'])
    assert 0 < result['teacher_s'] < result['step_s']
    assert result['peak_rss_mb'] > 100
