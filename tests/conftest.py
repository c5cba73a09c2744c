"""Fixtures of the whole suite: the mmdet default scope, a small generated COCO dataset,
the configs folder and a resumed training run."""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mmkd  # noqa: E402,F401
from mmkd.data import make_shapes_dataset  # noqa: E402

from helpers import dump, fitnet_config, run_tool  # noqa: E402


@pytest.fixture(scope='session', autouse=True)
def mmdet_default_scope():
    """Registries resolve mmdet names (datasets, transforms) as in an mmdet config."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
    """A small generated COCO dataset (boxes + instance masks), shared by all tests."""
    return make_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=8,
                               num_val=4, image_size=128, seed=0)


@pytest.fixture(scope='session')
def configs_dir():
    return osp.join(ROOT, 'configs')


@pytest.fixture(scope='session')
def resumed(shapes_data, tmp_path_factory):
    """tools/train.py: 6 iterations straight, and 4 + --resume to 6 (deterministic CPU).
    The losses are balanced over 5 steps (loss_balance), so the resume falls in the
    middle of that warm-up."""
    tmp = tmp_path_factory.mktemp('resume')
    cfg = fitnet_config(shapes_data, tmp, max_iters=6, loss_balance=dict(warmup_iters=5))
    cfg.randomness = dict(seed=0, deterministic=True)
    config = dump(cfg, tmp / 'cfg.py')
    run_tool('tools/train.py', config, '--work-dir', str(tmp / 'straight'))
    run_tool('tools/train.py', config, '--work-dir', str(tmp / 'split'),
             '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4')
    log = run_tool('tools/train.py', config, '--work-dir', str(tmp / 'split'),
                   '--resume', str(tmp / 'split/iter_4.pth'))
    return dict(config=config, dir=tmp, log=log, checkpoint=str(tmp / 'split/iter_4.pth'))
