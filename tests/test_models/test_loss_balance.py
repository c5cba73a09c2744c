"""loss_balance: each distiller's losses scaled to ``ratio`` times the detection loss over a
warm-up (ratio of means, measured only where the loss is on and non-zero), then frozen;
bounded, in checkpoints, identical over DDP ranks. The exact resume in the middle of the
warm-up is checked by the suite's ``resumed`` run (tests/conftest.py), which balances."""

from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from mmkd.models import MagnitudeBalance, MutualDistillationDetector, loss_balance
from mmkd.models.distillers import ReverseDistiller
from mmkd.models.loss_balance import (FEATURE_RATIO, PREDICTION_RATIO, SCALE_BOUNDS,
                                      build_loss_balance)

from helpers import build, fitnet_config, load

# The logged losses are float32 and the hand computation redoes the sums in float64 in
# another order: a few float32 roundings (relative 6e-8 each) apart, well under 1e-6.
# A mean of per-step ratios instead of the ratio of means is off by about 1e-2 here.
REL = 1e-6
RATIO = 0.5


def task_loss(log_vars):
    """The student's detection loss as logged: every ``loss_*`` key."""
    return sum(v.item() for k, v in log_vars.items() if k.startswith('loss_'))


def train_steps(model, batch, iterations):
    """``model.train_step`` at each of ``iterations`` (the message hub's iteration, which
    the distillers' schedules read); returns the logged values of every step."""
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    hub = MessageHub.get_current_instance()
    logs = []
    try:
        for iteration in iterations:
            hub.update_info('iter', iteration)
            logs.append({k: v.detach().clone() for k, v in model.train_step(batch, optim).items()})
    finally:
        hub.update_info('iter', 0)
    return logs


def test_each_distiller_is_scaled_to_ratio_times_the_detection_loss_then_frozen(
        shapes_data, tmp_path):
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=5,
                        loss_balance=dict(ratio=RATIO, warmup_iters=3))
    # KD off at iteration 0, half-way up its linear warm-up at 1: the balance measures
    # only where a loss is on, and before the ramp.
    cfg.model.distillers.kd = dict(type='KD', teacher='neck', warmup_iters=2,
                                   loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))
    model, batch = build(cfg)
    model.train()
    logs = train_steps(model, batch, range(5))

    for log in logs:  # the scales are logged, not summed into the total loss
        summed = sum(v.item() for k, v in log.items() if 'loss' in k and k != 'loss')
        assert log['loss'].item() == pytest.approx(summed, rel=REL)
    for name, factors in (('fitnet', [1, 1, 1, 1, 1]), ('kd', [0, .5, 1, 1, 1])):
        distill = [log[f'distill_{name}_loss'].item() for log in logs]
        scales = [log[f'distill_{name}_scale'].item() for log in logs]
        measured = [t for t, factor in enumerate(factors) if factor][:3]
        # first measured step: the scaled loss is ratio x the detection loss (x the ramp)
        first = measured[0]
        assert distill[first] == pytest.approx(
            factors[first] * RATIO * task_loss(logs[first]), rel=REL), name
        task_sum = distill_sum = 0.
        for t in measured:  # the scale is the ratio of the means so far
            task_sum += task_loss(logs[t])
            distill_sum += distill[t] / (scales[t] * factors[t])
            assert scales[t] == pytest.approx(RATIO * task_sum / distill_sum, rel=REL), (name, t)
        # frozen after its third measured step; 1 (the configured weights) before its first
        assert scales[measured[-1]:] == [scales[measured[-1]]] * (5 - measured[-1])
        assert all(scales[t] == 1 and distill[t] == 0 for t in range(first))
        balance = model.loss_balance[name]
        assert int(balance.steps) == 3 and balance.frozen
        assert float(balance.scale) == pytest.approx(scales[-1], rel=REL)
    assert logs[-1]['distill_fitnet_scale'] != logs[-1]['distill_kd_scale']

    # the frozen scales are in the state dict: a model loaded from it continues bit for bit
    loaded, _ = build(cfg)
    loaded.train()
    loaded.load_state_dict(model.state_dict())
    after = []
    for detector in (model, loaded):
        torch.manual_seed(0)  # the RPN and RoI samplers draw
        after += train_steps(detector, batch, [5])
    assert after[0].keys() == after[1].keys()
    assert all(torch.equal(after[0][k], after[1][k]) for k in after[0])
    assert after[0]['distill_kd_scale'] == logs[-1]['distill_kd_scale']


def test_without_a_ratio_each_distiller_is_balanced_to_its_own(shapes_data, tmp_path):
    """No ``ratio`` in loss_balance: a feature loss (FitNet) is scaled to FEATURE_RATIO
    times the detection loss, a prediction loss (KD) to PREDICTION_RATIO times."""
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1,
                        loss_balance=dict(warmup_iters=1))
    cfg.model.distillers.kd = dict(type='KD', teacher='neck',
                                   loss=dict(type='KDLoss', temperature=1.0, loss_weight=1.0))
    model, batch = build(cfg)
    model.train()
    (log, ) = train_steps(model, batch, [0])
    for name, ratio in (('fitnet', FEATURE_RATIO), ('kd', PREDICTION_RATIO)):
        assert model.loss_balance[name].ratio == ratio
        assert log[f'distill_{name}_loss'].item() == pytest.approx(ratio * task_loss(log),
                                                                   rel=REL), name
    assert FEATURE_RATIO != PREDICTION_RATIO
    # online distillation: a distiller run in reverse keeps the ratio of what it compares
    reversed_fitnet = ReverseDistiller(dict(type='FitNet', student='neck',
                                            loss=dict(type='FeatureMSELoss')))
    assert reversed_fitnet.balance_ratio == FEATURE_RATIO


def test_a_zero_loss_is_not_measured_and_the_scale_stays_bounded(shapes_data, tmp_path):
    """FGFI: off during its step warm-up, and exactly 0 on a batch without ground truth."""
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=3,
                        loss_balance=dict(ratio=RATIO, warmup_iters=1))
    cfg.model.distillers = dict(fgfi=dict(type='FGFI', warmup_iters=1, warmup='step',
                                          adapter_kernel=3))
    model, batch = build(cfg)
    model.train()
    empty = dict(batch, data_samples=[s.clone() for s in batch['data_samples']])
    for sample in empty['data_samples']:
        sample.gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                           labels=torch.zeros(0, dtype=torch.long))
    balance = model.loss_balance.fgfi
    off, no_objects = train_steps(model, batch, [0]) + train_steps(model, empty, [1])
    for log in (off, no_objects):
        assert log['distill_fgfi_loss'].item() == 0 and log['distill_fgfi_scale'].item() == 1
        assert all(torch.isfinite(v) for v in log.values())
    assert int(balance.steps) == 0 and not balance.frozen
    (on, ) = train_steps(model, batch, [2])
    assert on['distill_fgfi_loss'].item() == pytest.approx(RATIO * task_loss(on), rel=REL)
    assert int(balance.steps) == 1 and balance.frozen

    # a loss ~0 (or a detection loss of 0) during the warm-up: the scale is clamped
    for task, distill, expected in ((2., 1e-30, SCALE_BOUNDS[1]), (0., 1., SCALE_BOUNDS[0]),
                                    (2., float('nan'), 1.), (float('inf'), 1., 1.)):
        unit = MagnitudeBalance('unit', RATIO, warmup_iters=1)
        unit.update(torch.tensor(task), torch.tensor(distill))
        assert float(unit.scale) == expected and int(unit.steps) == (expected != 1.)


def test_resume_in_the_warmup_continues_the_measurement(resumed):
    """The ``resumed`` run balances over 5 steps: saved at 4 (mid-warm-up), frozen at 5
    after the resume, identical to the uninterrupted run (checked with all weights by
    test_resumed_run_is_bit_identical_to_an_uninterrupted_one)."""
    mid = load(resumed['checkpoint'])['state_dict']
    assert int(mid['loss_balance.fitnet.steps']) == 4
    straight = load(resumed['dir'] / 'straight/iter_6.pth')['state_dict']
    split = load(resumed['dir'] / 'split/iter_6.pth')['state_dict']
    assert int(straight['loss_balance.fitnet.steps']) == 5
    assert torch.equal(straight['loss_balance.fitnet.scale'], split['loss_balance.fitnet.scale'])
    assert "distiller 'fitnet' scale frozen at" in resumed['log']
    assert 'distill_fitnet_scale' in resumed['log']


def test_ranks_with_different_losses_freeze_the_same_scale(monkeypatch):
    """Two ranks of a distributed run, each with its own losses: the measurement works on
    the sums over the ranks (here the all-reduce adds the other rank's values), so a step
    counts on every rank or on none, and every rank freezes the same scale."""
    # (detection loss, distillation loss) of each step: rank 0's distillation loss is 0 at
    # the first step (measured: rank 1's is not), both ranks' at the second (not measured)
    losses = [[(1., 0.), (5., 0.), (2., 1.), (7., 7.)],
              [(3., .5), (6., 0.), (4., .5), (1., 1.)]]
    states = []
    for rank in (0, 1):
        other = iter(losses[1 - rank])

        def all_reduce(stats, op):
            assert op == dist.ReduceOp.SUM
            stats.add_(torch.tensor(next(other), dtype=stats.dtype))

        monkeypatch.setattr(loss_balance, 'dist', SimpleNamespace(
            is_available=lambda: True, is_initialized=lambda: True,
            get_world_size=lambda: 2, all_reduce=all_reduce, ReduceOp=dist.ReduceOp))
        balance = MagnitudeBalance('ddp', ratio=2., warmup_iters=2)
        for task, distill in losses[rank]:
            balance.update(torch.tensor(task), torch.tensor(distill))
        states.append(balance.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    # measured: the sums over ranks of steps 1 and 3; step 4 comes after the freeze
    assert float(states[0]['scale']) == 2. * (4. + 6.) / (.5 + 1.5)
    assert int(states[0]['steps']) == 2


def test_mutual_distillation_balances_each_learner_against_its_own_loss(
        shapes_data, tmp_path):
    """Online distillation: the teacher<-student entry is matched to the teacher's
    detection loss. (KD weight 100: two fresh models' class distributions are close.)"""
    kd = dict(type='KD', teacher='neck',
              loss=dict(type='KDLoss', temperature=1.0, loss_weight=100.))
    cfg = fitnet_config(shapes_data, tmp_path, max_iters=1,
                        type='mmkd.MutualDistillationDetector',
                        distillers=dict(to_student=kd, to_teacher=dict(
                            kd, direction='teacher<-student')),
                        loss_balance=dict(ratio=RATIO, warmup_iters=2))
    model, batch = build(cfg)
    assert isinstance(model, MutualDistillationDetector)
    model.train()
    (log, ) = train_steps(model, batch, [0])
    teacher_task = sum(v.item() for k, v in log.items() if k.startswith('teacher_loss_'))
    assert log['distill_to_student_loss'].item() == pytest.approx(
        RATIO * task_loss(log), rel=REL)
    assert log['distill_to_teacher_loss'].item() == pytest.approx(
        RATIO * teacher_task, rel=REL)
    assert all(SCALE_BOUNDS[0] < log[f'distill_{name}_scale'].item() < SCALE_BOUNDS[1]
               for name in ('to_student', 'to_teacher'))


@pytest.mark.parametrize('cfg, names, message', [
    (dict(ratio=1., warmup=5), ['a'], 'loss_balance takes ratio, warmup_iters; got warmup'),
    (dict(ratio=0), ['a'], 'ratio must be a positive number'),
    (dict(ratio=float('inf')), ['a'], 'ratio must be a positive number'),
    (dict(warmup_iters=0), ['a'], 'warmup_iters must be an int >= 1'),
    (dict(warmup_iters=2.5), ['a'], 'warmup_iters must be an int >= 1'),
    (True, ['a'], 'loss_balance must be a dict'),
    (dict(), ['kd', 'feature_loss'], "must not contain 'loss' .got feature_loss"),
])
def test_bad_loss_balance_is_named(cfg, names, message):
    with pytest.raises(ValueError, match=message):
        build_loss_balance(cfg, {name: PREDICTION_RATIO for name in names})
