"""The FitNet R101 -> R18 Faster R-CNN config the detector and FitNet tests build from."""
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import FITNET_CFG


@pytest.fixture(scope='module')
def fitnet_cfg(configs_dir):
    return Config.fromfile(osp.join(configs_dir, FITNET_CFG))
