"""Non-finite losses stop (or skip) before the update and never cost the last good
checkpoint."""
import os
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from mmkd.engine import NonFiniteError

from helpers import assert_same_tensors, dump, fitnet_config, load, run_tool


def overflowing(cfg, good_iters=2):
    """FitNet's loss off for the first ``good_iters`` iterations, then 1e39 x MSE: inf in
    float32. A checkpoint after every iteration, only the latest kept."""
    cfg.model.distillers.fitnet.update(warmup_iters=good_iters, warmup='step')
    cfg.model.distillers.fitnet.loss.loss_weight = 1e39
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1)
    return cfg


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(shapes_data, tmp_path):
    work_dir = tmp_path / 'work'
    cfg = overflowing(fitnet_config(shapes_data, work_dir, max_iters=4))
    output = run_tool('tools/train.py', dump(cfg, tmp_path / 'cfg.py'), '--work-dir',
                      str(work_dir), expect_ok=False)
    assert ('NonFiniteError: Non-finite loss at iteration 3: loss=inf, '
            'distill_fitnet_loss=inf. The update of this step was not applied') in output
    # iter_1.pth was rotated away by iter_2.pth; the failed iteration 3 removed nothing
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['iter_2.pth']
    weights = load(work_dir / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


def test_skip_mode_leaves_no_trace_of_the_bad_steps(shapes_data, tmp_path):
    cfg = overflowing(fitnet_config(shapes_data, tmp_path, max_iters=3, nonfinite='skip',
                                    max_nonfinite_skips=1))
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.model.loss_guard.total_skips == 1
    before, after = load(tmp_path / 'iter_2.pth'), load(tmp_path / 'iter_3.pth')
    # weights, BN statistics and momentum buffers are those of iteration 2
    assert_same_tensors(before['state_dict'], after['state_dict'])
    momentum = [s['momentum_buffer'] for s in before['optimizer']['state'].values()]
    assert len(momentum) > 10 and all(
        torch.equal(m, s['momentum_buffer'])
        for m, s in zip(momentum, after['optimizer']['state'].values()))


def test_skip_mode_stops_after_the_allowed_consecutive_skips(shapes_data, tmp_path):
    cfg = overflowing(fitnet_config(shapes_data, tmp_path, max_iters=3, nonfinite='skip',
                                    max_nonfinite_skips=1), good_iters=0)
    with pytest.raises(NonFiniteError, match=r'at iteration 2: loss=inf, distill_fitnet_loss='
                                             r'inf, after 1 skipped steps in a row'):
        Runner.from_cfg(cfg).train()
    assert osp.exists(tmp_path / 'iter_1.pth') and not osp.exists(tmp_path / 'iter_2.pth')


def test_nonfinite_option_is_checked(shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1, nonfinite='ignore')
    with pytest.raises(ValueError, match=r"nonfinite must be one of \('stop', 'skip'\)"):
        Runner.from_cfg(cfg)
