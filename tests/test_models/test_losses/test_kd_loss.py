"""KDLoss and BinaryKDLoss: mmdet's weight / avg_factor / reduction arguments against
per-row references written out with exp and log, and the values of the configs'
defaults; KDLoss's temperature and weight against the manual KL, and its bad input."""
import math

import pytest
import torch

from mmkd.models.losses import KDLoss
from mmkd.registry import MODELS

from helpers import kd_rounding_tolerance, manual_kd


def kd_rows(student, teacher, temperature):
    """T^2 * KL(softmax(t / T) || softmax(s / T)) of each row, on float64 python numbers."""
    rows = []
    for s_row, t_row in zip(student.double().tolist(), teacher.double().tolist()):
        zs = sum(math.exp(v / temperature) for v in s_row)
        zt = sum(math.exp(v / temperature) for v in t_row)
        rows.append(temperature ** 2 * sum(
            math.exp(t / temperature) / zt
            * (t / temperature - math.log(zt) - s / temperature + math.log(zs))
            for s, t in zip(s_row, t_row)))
    return torch.tensor(rows, dtype=torch.float64)


def binary_kd_rows(student, teacher, temperature):
    """T^2 * sum_c -(q log p + (1 - q) log(1 - p)), p = sigmoid(s / T), q = sigmoid(t / T)."""
    rows = []
    for s_row, t_row in zip(student.double().tolist(), teacher.double().tolist()):
        total = 0.
        for s, t in zip(s_row, t_row):
            p, q = 1 / (1 + math.exp(-s / temperature)), 1 / (1 + math.exp(-t / temperature))
            total -= q * math.log(p) + (1 - q) * math.log(1 - p)
        rows.append(temperature ** 2 * total)
    return torch.tensor(rows, dtype=torch.float64)


LOSSES = {'KDLoss': kd_rows, 'BinaryKDLoss': binary_kd_rows}


def logits(rows=6, classes=5, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    student = torch.randn(rows, classes, generator=generator, dtype=dtype) * 2
    teacher = torch.randn(rows, classes, generator=generator, dtype=dtype) * 2
    return student.requires_grad_(), teacher


def test_kd_default_config_gives_the_manual_kl():
    student, teacher = logits(dtype=torch.float32)
    loss = MODELS.build(dict(type='KDLoss', temperature=1.0, loss_weight=1.0))
    value = loss(student, teacher).item()
    assert value == pytest.approx(manual_kd(student, teacher, 1.0, 1.0),
                                  abs=kd_rounding_tolerance(student, teacher, 1.0, 1.0))


def test_binary_kd_default_config_gives_the_mean_of_the_row_sums():
    student, teacher = logits(dtype=torch.float32)
    loss = MODELS.build(dict(type='BinaryKDLoss', temperature=1.0, loss_weight=1.0))
    expected = binary_kd_rows(student, teacher, 1.0).mean().item()
    assert loss(student, teacher).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_weight_per_row_and_reduction_override(name):
    student, teacher = logits()
    weight = torch.tensor([1., 0., 0.5, 2., 0.25, 1.], dtype=torch.float64)
    rows = LOSSES[name](student, teacher, 2.0)
    loss = MODELS.build(dict(type=name, temperature=2.0, loss_weight=0.5))

    none = loss(student, teacher, weight, reduction_override='none')
    assert none.shape == (6,)
    torch.testing.assert_close(none, 0.5 * weight * rows, rtol=1e-10, atol=0)
    total = loss(student, teacher, weight, reduction_override='sum')
    assert total.item() == pytest.approx(0.5 * (weight * rows).sum().item(), rel=1e-10)
    mean = loss(student, teacher, weight, reduction_override='mean')
    assert mean.item() == pytest.approx(0.5 * (weight * rows).sum().item() / 6, rel=1e-10)
    # A zero weight removes its row from the loss and from its gradient.
    mean.backward()
    assert torch.all(student.grad[1] == 0) and torch.all(student.grad[0] != 0)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_avg_factor_replaces_the_row_count(name):
    student, teacher = logits(seed=1)
    rows = LOSSES[name](student, teacher, 1.0)
    loss = MODELS.build(dict(type=name))
    value = loss(student, teacher, avg_factor=2.5)
    assert value.item() == pytest.approx(rows.sum().item() / 2.5, rel=1e-6)
    with pytest.raises(ValueError, match='avg_factor can not be used with reduction="sum"'):
        loss(student, teacher, avg_factor=2.5, reduction_override='sum')


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_sum_reduction_from_the_config(name):
    student, teacher = logits(seed=2)
    rows = LOSSES[name](student, teacher, 3.0)
    loss = MODELS.build(dict(type=name, temperature=3.0, reduction='sum'))
    assert loss(student, teacher).item() == pytest.approx(rows.sum().item(), rel=1e-10)
    assert loss(student, teacher, reduction_override='mean').item() == pytest.approx(
        rows.mean().item(), rel=1e-10)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_no_rows_give_zero_in_the_graph(name):
    student = torch.zeros(0, 5, requires_grad=True)
    loss = MODELS.build(dict(type=name))
    for kwargs in (dict(), dict(reduction_override='sum'), dict(avg_factor=3.)):
        value = loss(student, torch.zeros(0, 5), **kwargs)
        assert value.item() == 0. and value.requires_grad
    value.backward()
    assert student.grad.shape == (0, 5)
    assert loss(student, torch.zeros(0, 5), reduction_override='none').shape == (0,)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_bad_arguments_are_refused_with_the_fix(name):
    student, teacher = logits(rows=5)
    loss = MODELS.build(dict(type=name))
    # (N, 1) would broadcast the (N,) rows to (N, N) and silently change the loss.
    with pytest.raises(ValueError, match=r'weight of shape \(5, 1\) does not fit .* \(N,\)'):
        loss(student, teacher, torch.ones(5, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="reduction_override must be None, 'none', 'mean'"):
        loss(student, teacher, reduction_override='batchmean')
    # A config's loss feeds a loss dict: unreduced values are asked for per call.
    with pytest.raises(ValueError, match="pass reduction_override='none' to the call"):
        MODELS.build(dict(type=name, reduction='none'))


@pytest.mark.parametrize('temperature,weight', [(1.0, 1.0), (4.0, 0.5)])
def test_kd_loss_matches_manual_kl(temperature, weight):
    torch.manual_seed(0)
    student = torch.randn(7, 5, requires_grad=True)
    teacher = torch.randn(7, 5, requires_grad=True) * 3
    loss = KDLoss(temperature=temperature, loss_weight=weight)(student, teacher)
    assert loss.item() == pytest.approx(manual_kd(student, teacher, temperature, weight),
                                        rel=1e-5)
    assert loss.item() > 0
    loss.backward()
    assert student.grad.abs().sum() > 0
    assert teacher.grad is None  # the teacher is the target, never trained by KD
    # Same distributions: no loss.
    same = KDLoss(temperature=temperature)(teacher.detach(), teacher.detach())
    assert same.item() == pytest.approx(0., abs=1e-6)


def test_kd_loss_sum_reduction_and_empty_rows():
    torch.manual_seed(1)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    mean = KDLoss(temperature=2.0)(student, teacher)
    total = KDLoss(temperature=2.0, reduction='sum')(student, teacher)
    assert total.item() == pytest.approx(4 * mean.item(), rel=1e-5)
    empty = KDLoss()(torch.zeros(0, 3, requires_grad=True), torch.zeros(0, 3))
    assert empty.item() == 0. and not torch.isnan(empty)


def test_kd_loss_bad_input():
    with pytest.raises(ValueError, match='temperature must be > 0'):
        KDLoss(temperature=0)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        KDLoss(reduction='none')
    with pytest.raises(ValueError, match='same shape'):
        KDLoss()(torch.zeros(4, 3), torch.zeros(4, 5))
