"""QualityFocalKDLoss, IoUKDLoss and LocalizationKDLoss against per-row references written
out on float64 python numbers, with weight / avg_factor / reduction, and their bad input."""
import math

import pytest
import torch

from mmkd.registry import MODELS


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def quality_focal_rows(student, teacher, beta):
    """sum_c -(p log q + (1 - p) log(1 - q)) |p - q|^beta, p = sigmoid(t), q = sigmoid(s)."""
    rows = []
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        total = 0.
        for s, t in zip(s_row, t_row):
            p, q = sigmoid(t), sigmoid(s)
            total -= (p * math.log(q) + (1 - p) * math.log(1 - q)) * abs(p - q) ** beta
        rows.append(total)
    return rows


def overlap_rows(student, teacher, mode, eps=1e-6):
    """1 - GIoU, 1 - IoU or -log IoU of x1, y1, x2, y2 box pairs."""
    rows = []
    for (a1, b1, a2, b2), (c1, d1, c2, d2) in zip(student.tolist(), teacher.tolist()):
        inter = max(0., min(a2, c2) - max(a1, c1)) * max(0., min(b2, d2) - max(b1, d1))
        union = (a2 - a1) * (b2 - b1) + (c2 - c1) * (d2 - d1) - inter
        iou = inter / max(union, eps)
        enclose = (max(a2, c2) - min(a1, c1)) * (max(b2, d2) - min(b1, d1))
        giou = iou - (enclose - union) / max(enclose, eps)
        rows.append(1 - giou if mode == 'giou' else 1 - iou if mode == 'iou' else -math.log(iou))
    return rows


def distribution_rows(student, teacher, temperature, bin_reduction):
    """T^2 KL(softmax(t / T) || softmax(s / T)), divided by the bins for 'mean'."""
    rows = []
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        zs = sum(math.exp(v / temperature) for v in s_row)
        zt = sum(math.exp(v / temperature) for v in t_row)
        kl = sum(math.exp(t / temperature) / zt
                 * (t / temperature - math.log(zt) - s / temperature + math.log(zs))
                 for s, t in zip(s_row, t_row))
        rows.append(temperature ** 2 * kl / (len(s_row) if bin_reduction == 'mean' else 1))
    return rows


def random_boxes(rows, generator):
    corner = torch.rand(rows, 2, generator=generator, dtype=torch.float64) * 50
    size = torch.rand(rows, 2, generator=generator, dtype=torch.float64) * 40 + 5
    return torch.cat([corner, corner + size], dim=1)


def inputs(kind, rows=7, seed=0):
    generator = torch.Generator().manual_seed(seed)
    if kind == 'boxes':
        student = random_boxes(rows, generator)
        teacher = student + torch.randn(rows, 4, generator=generator, dtype=torch.float64) * 6
        teacher[0] = torch.tensor([200., 200., 220., 230.], dtype=torch.float64)  # disjoint
        teacher[:, 2:] = torch.maximum(teacher[:, 2:], teacher[:, :2] + 1)
    else:
        columns = 17 if kind == 'bins' else 5
        student = torch.randn(rows, columns, generator=generator, dtype=torch.float64) * 2
        teacher = torch.randn(rows, columns, generator=generator, dtype=torch.float64) * 2
    return student.requires_grad_(), teacher


CASES = {  # name: (config, input kind, reference per row)
    'qfl_beta1': (dict(type='QualityFocalKDLoss', loss_weight=1.5), 'logits',
                  lambda s, t: quality_focal_rows(s, t, 1.0)),
    'qfl_beta2': (dict(type='QualityFocalKDLoss', beta=2.0), 'logits',
                  lambda s, t: quality_focal_rows(s, t, 2.0)),
    'giou': (dict(type='IoUKDLoss', loss_weight=4.0), 'boxes',
             lambda s, t: overlap_rows(s, t, 'giou')),
    'iou': (dict(type='IoUKDLoss', mode='iou'), 'boxes', lambda s, t: overlap_rows(s, t, 'iou')),
    'log_iou': (dict(type='IoUKDLoss', mode='log_iou'), 'boxes',
                lambda s, t: overlap_rows(s, t, 'log_iou')),
    'ld': (dict(type='LocalizationKDLoss', loss_weight=0.25), 'bins',
           lambda s, t: distribution_rows(s, t, 10.0, 'mean')),
    'ld_sum_t1': (dict(type='LocalizationKDLoss', temperature=1.0, bin_reduction='sum'),
                  'bins', lambda s, t: distribution_rows(s, t, 1.0, 'sum')),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_dense_kd_losses_match_the_references(name):
    cfg, kind, reference = CASES[name]
    loss = MODELS.build(cfg)
    student, teacher = inputs(kind)
    if kind == 'boxes':  # the disjoint pair keeps log IoU finite only with an overlap
        teacher = teacher if name != 'log_iou' else student.detach() + 2
    rows = torch.tensor(reference(student.detach(), teacher), dtype=torch.float64)
    weight_of_loss = cfg.get('loss_weight', 1.0)
    weight = torch.linspace(0., 2., len(rows), dtype=torch.float64)
    torch.testing.assert_close(loss(student, teacher, reduction_override='none'),
                               weight_of_loss * rows)
    torch.testing.assert_close(loss(student, teacher), weight_of_loss * rows.mean())
    torch.testing.assert_close(loss(student, teacher, weight, avg_factor=3.5),
                               weight_of_loss * (weight * rows).sum() / 3.5)
    torch.testing.assert_close(loss(student, teacher, weight, reduction_override='sum'),
                               weight_of_loss * (weight * rows).sum())
    # The teacher is a target: no gradient reaches it, the student gets one.
    teacher = teacher.clone().requires_grad_()
    loss(student, teacher).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    # No rows: zero, not NaN.
    assert loss(student[:0], teacher[:0].detach()).item() == 0


def test_quality_focal_modulation_is_not_detached():
    """The gradient is that of the whole product BCE * |p - q|, not BCE alone times a
    constant factor: compared with autograd through the formula written in torch."""
    student, teacher = inputs('logits')
    loss = MODELS.build(dict(type='QualityFocalKDLoss'))
    loss(student, teacher, reduction_override='sum').backward()
    s = student.detach().clone().requires_grad_()
    p, q = teacher.sigmoid(), s.sigmoid()
    bce = -(p * q.log() + (1 - p) * (1 - q).log())
    full, detached = (torch.autograd.grad((bce * factor).sum(), s, retain_graph=True)[0]
                      for factor in ((p - q).abs(), (p - q).abs().detach()))
    torch.testing.assert_close(student.grad, full)
    assert (student.grad - detached).abs().max() > 1e-3


def test_dense_kd_loss_errors():
    with pytest.raises(ValueError, match='beta must be >= 0'):
        MODELS.build(dict(type='QualityFocalKDLoss', beta=-1))
    with pytest.raises(ValueError, match="mode must be 'giou', 'iou' or 'log_iou'"):
        MODELS.build(dict(type='IoUKDLoss', mode='diou'))
    with pytest.raises(ValueError, match="bin_reduction must be 'mean' or 'sum'"):
        MODELS.build(dict(type='LocalizationKDLoss', bin_reduction='none'))
    with pytest.raises(ValueError, match='temperature must be > 0'):
        MODELS.build(dict(type='LocalizationKDLoss', temperature=0))
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        MODELS.build(dict(type='IoUKDLoss', reduction='none'))
    qfl = MODELS.build(dict(type='QualityFocalKDLoss'))
    with pytest.raises(ValueError, match=r'same shape, got \(3, 5\) and \(3, 4\)'):
        qfl(torch.zeros(3, 5), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='one weight per row'):
        qfl(torch.zeros(3, 3), torch.zeros(3, 3), weight=torch.ones(3, 3))
    with pytest.raises(ValueError, match=r'needs \(N, 4\) x1, y1, x2, y2 boxes'):
        MODELS.build(dict(type='IoUKDLoss'))(torch.zeros(3, 5), torch.zeros(3, 5))
