import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mmkd  # noqa: E402,F401
from mmkd.data import make_shapes_dataset  # noqa: E402


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
