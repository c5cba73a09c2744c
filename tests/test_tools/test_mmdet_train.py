"""mmdet's own tools/train.py (what ``mim train`` runs) trains an mmkd config with mmkd's
reliability hooks: the pair base's ``runner_type='mmkd.DistillationRunner'`` is resolved
by mmengine, which imports mmkd for it. Resuming through it is bit-exact."""
import os
import os.path as osp
import subprocess
import sys

import mmdet
import pytest
import torch

from mmkd.testing import small_run_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMDET_TRAIN = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
# Faster R-CNN: its RPN and RoI samplers draw random numbers in the model, which the
# data loader's fast-forward on resume does not replay (without the restored generator
# states, 65 of 814 tensors differ after the resumed iteration).
CONFIG = osp.join(ROOT, 'configs/fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py')


def mmdet_train(config, work_dir, *args):
    """mmdet's train.py in a subprocess, with this repository importable (as an installed
    mmkd would be) but not imported by the script itself."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    result = subprocess.run([sys.executable, MMDET_TRAIN, config, '--work-dir', work_dir, *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def runs(shapes_data, tmp_path_factory):
    """3 iterations straight, and 2 + --resume to 3, all through mmdet's train.py."""
    tmp = tmp_path_factory.mktemp('mmdet_train')
    cfg = small_run_config(CONFIG, shapes_data, str(tmp), max_iters=3, image_size=64)
    cfg.randomness = dict(seed=0, deterministic=True)
    config = str(tmp / 'config.py')
    cfg.dump(config)
    straight = mmdet_train(config, str(tmp / 'straight'))
    first = mmdet_train(config, str(tmp / 'split'), '--cfg-options', 'train_cfg.max_iters=2',
                        'default_hooks.checkpoint.interval=2')
    resumed = mmdet_train(config, str(tmp / 'split'), '--resume', str(tmp / 'split/iter_2.pth'))
    return dict(dir=tmp, logs=dict(straight=straight, first=first, resumed=resumed))


def test_mmdet_train_runs_the_reliability_hooks(runs):
    assert osp.isfile(MMDET_TRAIN)
    for log in runs['logs'].values():
        hooks = log.split('Hooks will be executed in the following order:')[1]
        hooks = hooks.split('before_train:')[0]  # the hooks of the before_run stage
        assert all(name in hooks for name in
                   ('RandomStateHook', 'CheckpointGuardHook', 'TrainDataCheckHook')), hooks
        assert "lacks mmkd's reliability hooks" not in log
    checkpoint = torch.load(runs['dir'] / 'split/iter_2.pth', weights_only=True)
    assert {'python', 'numpy', 'torch'} <= set(checkpoint['rng_state'])


def test_resume_through_mmdet_train_is_bit_identical(runs):
    assert 'resumed epoch: 0, iter: 2' in runs['logs']['resumed']
    straight = torch.load(runs['dir'] / 'straight/iter_3.pth', weights_only=True)['state_dict']
    resumed = torch.load(runs['dir'] / 'split/iter_3.pth', weights_only=True)['state_dict']
    assert straight.keys() == resumed.keys()
    different = [key for key in straight if not torch.equal(straight[key], resumed[key])]
    assert not different, f'{len(different)} of {len(straight)} differ, e.g. {different[:3]}'
