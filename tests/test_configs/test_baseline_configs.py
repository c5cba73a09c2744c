"""The KD and FitNet configs of the six two-stage pairs: zoo teachers, and one training
step each with a fixed teacher."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from helpers import build_small_raw

PAIRS = ['faster-rcnn_r101-r18', 'faster-rcnn_r101-r50', 'faster-rcnn_r50-mv2',
         'mask-rcnn_r101-r18', 'mask-rcnn_r101-r50', 'mask-rcnn_r50-mv2']


@pytest.mark.parametrize('method', ['kd', 'fitnet'])
@pytest.mark.parametrize('pair', PAIRS)
def test_baseline_config_trains(method, pair, configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, method, f'{pair}_fpn_1x_coco.py')
    raw = Config.fromfile(config).model
    teacher_cfg = raw.teacher if isinstance(raw.teacher, str) else raw.teacher.cfg_path
    assert raw.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/')
    t_arch = pair.split('_')[1].split('-')[0]  # r101 / r50
    assert f'{t_arch}_fpn' in teacher_cfg and pair.split('_')[0] in teacher_cfg

    model, batch = build_small_raw(config, shapes_data, tmp_path)
    teacher_before = [p.detach().clone() for p in model.teacher.parameters()]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    model.train()
    assert not model.teacher.training
    log = model.train_step(batch, optim)
    key = f'distill_{method}_loss'
    assert key in log and torch.isfinite(log[key]) and log[key].item() > 0
    assert all(torch.isfinite(v) for v in log.values())
    # Offline: the teacher receives no gradient and never changes.
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, model.teacher.parameters()))
