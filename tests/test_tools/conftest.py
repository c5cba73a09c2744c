"""A distillation config trained through tools/train.py once, for the tools' tests."""
import os.path as osp

import pytest

from mmkd.testing import small_run_config

from helpers import run_tool


@pytest.fixture(scope='session')
def trained(configs_dir, shapes_data, tmp_path_factory):
    """A FitNet R101->R18 Faster R-CNN config trained 2 iterations through tools/train.py."""
    work_dir = str(tmp_path_factory.mktemp('fitnet_run'))
    cfg = small_run_config(osp.join(configs_dir, 'fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py'),
                           shapes_data, work_dir, max_iters=2, val=True)
    # (not in the work dir, where the Runner dumps the config of each run)
    config = str(tmp_path_factory.mktemp('fitnet_config') / 'config.py')
    cfg.dump(config)
    log = run_tool('tools/train.py', config, '--work-dir', work_dir)
    return dict(config=config, work_dir=work_dir, log=log,
                checkpoint=osp.join(work_dir, 'iter_2.pth'))
