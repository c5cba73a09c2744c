"""tools/train.py: trains with the distillation loss, writes weights-only loadable
checkpoints and resumes."""
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from helpers import run_tool


def test_train_cli_trains_with_the_distillation_loss(trained):
    assert osp.isfile(trained['checkpoint'])
    assert 'distill_fitnet_loss' in trained['log']
    assert 'coco/bbox_mAP' in trained['log']  # the student was evaluated after training


def test_checkpoints_load_with_weights_only_and_nothing_else(trained, tmp_path):
    checkpoint = torch.load(trained['checkpoint'], weights_only=True)
    assert {'state_dict', 'meta', 'optimizer', 'message_hub'} <= set(checkpoint)
    assert getattr not in torch.serialization.get_safe_globals()
    assert not any(g in torch.serialization.get_safe_globals() for g in (eval, exec, os.system))

    path = str(tmp_path / 'foreign.pth')
    torch.save(dict(state_dict={}, meta=dict(hook=Config)), path)  # an arbitrary class
    with pytest.raises(pickle.UnpicklingError, match='mmengine.config.config.Config'):
        torch.load(path)


def test_resume_continues_from_the_checkpoint(trained):
    log = run_tool('tools/train.py', trained['config'], '--work-dir', trained['work_dir'],
                   '--resume', trained['checkpoint'],
                   '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=10')
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    assert osp.isfile(osp.join(trained['work_dir'], 'iter_3.pth'))
