"""mmkd.export: a checkpoint is checked against the config it is exported with."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmkd.export import export_detector
from mmkd.testing import small_run_config

from helpers import ROOT, dump, run_tool


def test_export_refuses_a_config_of_another_architecture(resumed, shapes_data, tmp_path):
    mask_rcnn = small_run_config(osp.join(ROOT, 'configs/demo/mask-rcnn_fitnet.py'),
                                 shapes_data, str(tmp_path), image_size=64)
    wider = Config.fromfile(resumed['config'])
    wider.model.student.neck.out_channels = 96
    wider_config = dump(wider, tmp_path / 'wider.py')
    output = run_tool('tools/export_student.py', dump(mask_rcnn, tmp_path / 'mask.py'),
                      resumed['checkpoint'], str(tmp_path / 'out'), expect_ok=False)
    assert "do not fit the student of" in output and 'missing keys (roi_head.mask_head' in output
    assert not osp.exists(tmp_path / 'out/student.pth')
    with pytest.raises(ValueError, match=r'shape-mismatched keys \(neck.lateral_convs.0.conv'):
        export_detector(wider_config, resumed['checkpoint'], str(tmp_path / 'out'))
