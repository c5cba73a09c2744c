"""mmkd.DistillationRunner: every launcher that builds a config's ``runner_type`` (mmdet's
tools/train.py, mim train, mmkd's tools/train.py) trains a distillation config with the
reliability hooks; a run without them says so once, naming the fix."""
import glob
import os.path as osp
import subprocess
import sys
from unittest import mock

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmkd.engine import DistillationRunner
from mmkd.models import reliability
from mmkd.testing import small_run_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RELIABILITY_HOOKS = {'RandomStateHook', 'CheckpointGuardHook', 'TrainDataCheckHook'}


def test_mmengine_resolves_the_scoped_runner_name_by_importing_mmkd():
    code = ('import sys\n'
            'from mmengine.registry import RUNNERS\n'
            "assert 'mmkd' not in sys.modules\n"
            "print(RUNNERS.get('mmkd.DistillationRunner').__module__)\n")
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                            text=True, env={'PYTHONPATH': ROOT, 'PATH': ''})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == 'mmkd.engine.runner'


def test_every_distillation_config_names_the_runner(configs_dir):
    """The configs that define a distillation host (the pair bases, and the few that
    define their own pair); the method configs inherit from them."""
    hosts = [path for path in glob.glob(osp.join(configs_dir, '**/*.py'), recursive=True)
             if 'DistillationDetector' in open(path).read()]
    assert len(hosts) >= 16
    without = [osp.relpath(path, configs_dir) for path in hosts
               if Config.fromfile(path).get('runner_type') != 'mmkd.DistillationRunner']
    assert not without


def test_the_runner_adds_the_hooks_and_keeps_those_of_the_config(shapes_data, tmp_path):
    # RTMDet's config has its own custom_hooks (EMA, pipeline switch) that must stay
    cfg = small_run_config(osp.join(ROOT, 'configs/fgfi/rtmdet_s-tiny_8xb32-300e_coco.py'),
                           shapes_data, str(tmp_path), image_size=64)
    cfg.custom_hooks.append(dict(type='mmkd.TrainDataCheckHook', check_teacher=False))
    given = Config(cfg.to_dict()).custom_hooks
    runner = RUNNERS.build(cfg)
    assert type(runner) is DistillationRunner
    names = [type(hook).__name__ for hook in runner.hooks]
    assert {'EMAHook', 'PipelineSwitchHook'} | RELIABILITY_HOOKS <= set(names)
    assert names.count('TrainDataCheckHook') == 1  # the config's own, as configured
    assert not next(h for h in runner.hooks if type(h).__name__ == 'TrainDataCheckHook'
                    ).check_teacher
    assert cfg.custom_hooks == given  # the caller's config is left as it was


def _warnings(log):
    return [call.args[0] for call in log.call_args_list
            if "lacks mmkd's reliability hooks" in call.args[0]]


def test_a_run_without_the_hooks_warns_once_naming_the_fix(shapes_data, tmp_path):
    cfg = small_run_config(osp.join(ROOT, 'configs/demo/faster-rcnn_fitnet.py'), shapes_data,
                           str(tmp_path / 'plain'), max_iters=2, image_size=64)
    cfg.pop('runner_type')  # an inline config that does not name the runner ...
    cfg.custom_hooks = [dict(type='mmkd.RandomStateHook')]  # ... and names one hook
    with mock.patch.object(reliability, 'print_log', wraps=reliability.print_log) as log:
        Runner.from_cfg(cfg).train()
    warnings = _warnings(log)
    assert len(warnings) == 1, warnings
    assert ('CheckpointGuardHook: no checkpoint with non-finite weights; TrainDataCheckHook: '
            'the data and class checks before training') in warnings[0]
    assert 'RandomStateHook' not in warnings[0]
    assert "Set runner_type='mmkd.DistillationRunner' in the config" in warnings[0]

    cfg.work_dir, cfg.custom_hooks = str(tmp_path / 'mmkd'), []
    with mock.patch.object(reliability, 'print_log', wraps=reliability.print_log) as log:
        DistillationRunner.from_cfg(cfg).train()
    assert not _warnings(log)
