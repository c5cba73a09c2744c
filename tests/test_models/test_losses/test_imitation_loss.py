"""FGFI's ImitationLoss: per-location weights, avg_factor and reductions against sums
written out location by location, the normaliser of the authors' code (masked locations
times 2), masks without positives, non-finite values outside the masks, mismatched
shapes, and the configs' value."""
import numpy as np
import pytest
import torch

from mmkd.models.losses import ImitationLoss
from mmkd.registry import MODELS

SHAPES = [(2, 4, 5, 6), (2, 4, 3, 3)]


def inputs(seed, shapes=SHAPES):
    generator = torch.Generator().manual_seed(seed)
    student = [torch.randn(*shape, generator=generator).requires_grad_() for shape in shapes]
    teacher = [torch.randn(*shape, generator=generator) for shape in shapes]
    masks = [torch.rand(n, h, w, generator=generator) > 0.6 for n, _, h, w in shapes]
    weights = [torch.rand(n, h, w, generator=generator) for n, _, h, w in shapes]
    return student, teacher, masks, weights


def location_losses(student, teacher, masks, weights=None):
    """{(level, n, i, j): w * sum_c (s - t)^2 / 2} over the masked locations, float64."""
    out = {}
    for level, (s, t, m) in enumerate(zip(student, teacher, masks)):
        s, t = s.detach().double().numpy(), t.double().numpy()
        for n, i, j in zip(*np.nonzero(m.numpy())):
            w = 1. if weights is None else float(weights[level][n, i, j])
            out[level, n, i, j] = w * sum((s[n, c, i, j] - t[n, c, i, j]) ** 2
                                          for c in range(s.shape[1])) / 2
    return out


def test_config_value_is_the_authors_sum_over_twice_the_masked_locations():
    student, teacher, masks, _ = inputs(0)
    loss = MODELS.build(dict(type='ImitationLoss', loss_weight=0.02))  # the FGFI configs'
    # The authors' normaliser: number of masked locations (channels not counted) times 2.
    squared = sum(((s.detach().double() - t.double()) ** 2 * m[:, None]).sum().item()
                  for s, t, m in zip(student, teacher, masks))
    num_pos = sum(int(m.sum()) for m in masks)
    assert num_pos > 5
    assert loss(student, teacher, masks).item() == pytest.approx(
        0.02 * squared / (2 * num_pos), rel=1e-5)


def test_weight_per_location_and_reduction_override():
    student, teacher, masks, weights = inputs(1)
    values = location_losses(student, teacher, masks, weights)
    loss = MODELS.build(dict(type='ImitationLoss', loss_weight=0.5))

    none = loss(student, teacher, masks, weights, reduction_override='none')
    for level, (value, m) in enumerate(zip(none, masks)):
        assert value.shape == m.shape
        expected = np.zeros(m.shape)
        for (lv, n, i, j), v in values.items():
            if lv == level:
                expected[n, i, j] = v
        np.testing.assert_allclose(value.detach().numpy(), 0.5 * expected, rtol=1e-5,
                                   atol=1e-6)
    total = sum(values.values())
    assert loss(student, teacher, masks, weights, reduction_override='sum').item() == \
        pytest.approx(0.5 * total, rel=1e-5)
    # 'mean' divides by the masked locations, whatever their weights.
    assert loss(student, teacher, masks, weights).item() == pytest.approx(
        0.5 * total / len(values), rel=1e-5)


def test_avg_factor_replaces_the_number_of_masked_locations():
    student, teacher, masks, weights = inputs(2)
    total = sum(location_losses(student, teacher, masks, weights).values())
    loss = MODELS.build(dict(type='ImitationLoss'))
    assert loss(student, teacher, masks, weights, avg_factor=3.0).item() == pytest.approx(
        total / 3.0, rel=1e-5)
    with pytest.raises(ValueError, match='avg_factor can not be used with reduction="sum"'):
        loss(student, teacher, masks, avg_factor=3.0, reduction_override='sum')


def test_sum_reduction_from_the_config():
    student, teacher, masks, _ = inputs(3)
    total = sum(location_losses(student, teacher, masks).values())
    loss = MODELS.build(dict(type='ImitationLoss', reduction='sum'))
    assert loss(student, teacher, masks).item() == pytest.approx(total, rel=1e-5)


def test_values_outside_the_masks_are_never_read():
    student, teacher, masks, weights = inputs(4)
    with torch.no_grad():
        for s, m in zip(student, masks):
            s.masked_fill_(~m[:, None].expand_as(s), float('inf'))
    loss = MODELS.build(dict(type='ImitationLoss'))
    for reduction in ('none', 'sum', 'mean'):
        value = loss(student, teacher, masks, weights, reduction_override=reduction)
        for level in (value if reduction == 'none' else [value]):
            assert torch.isfinite(level).all(), reduction


@pytest.mark.parametrize('shapes', [SHAPES, [(0, 4, 5, 6), (0, 4, 3, 3)]],
                         ids=['no-masked-location', 'empty-batch'])
def test_nothing_to_imitate_gives_zero_in_the_graph(shapes):
    student, teacher, masks, weights = inputs(5, shapes)
    masks = [torch.zeros_like(m) for m in masks]
    loss = MODELS.build(dict(type='ImitationLoss', loss_weight=0.02))
    for kwargs in (dict(), dict(reduction_override='sum'), dict(avg_factor=1.0),
                   dict(weight=weights)):
        value = loss(student, teacher, masks, **kwargs)
        assert value.item() == 0. and value.requires_grad, kwargs
    value.backward()
    assert torch.equal(student[0].grad, torch.zeros_like(student[0]))


def test_bad_arguments_are_refused_with_the_fix():
    student, teacher, masks, weights = inputs(6)
    loss = MODELS.build(dict(type='ImitationLoss'))
    with pytest.raises(ValueError, match='same non-zero number of levels'):
        loss(student, teacher, masks[:1])
    with pytest.raises(ValueError, match=r'weight of shape \(2, 4, 5, 6\) does not fit .* '
                                         r'a weight of each location, \(N, H, W\)'):
        loss(student, teacher, masks, [torch.ones(s.shape) for s in student])
    with pytest.raises(ValueError, match="pass reduction_override='none' to the call"):
        MODELS.build(dict(type='ImitationLoss', reduction='none'))


def test_a_level_without_weight_is_unweighted():
    student, teacher, masks, weights = inputs(7)
    values = location_losses(student, teacher, masks)
    weighted = location_losses(student, teacher, masks, weights)
    mixed = sum(v for key, v in weighted.items() if key[0] == 0) + \
        sum(v for key, v in values.items() if key[0] == 1)
    loss = MODELS.build(dict(type='ImitationLoss'))
    assert loss(student, teacher, masks, [weights[0], None]).item() == pytest.approx(
        mixed / len(values), rel=1e-5)


def test_loss_matches_explicit_sum_over_positive_locations():
    torch.manual_seed(0)
    student = [torch.randn(2, 4, 3, 5), torch.randn(2, 4, 2, 2)]
    teacher = [torch.randn(2, 4, 3, 5), torch.randn(2, 4, 2, 2)]
    masks = [torch.rand(2, 3, 5) > 0.6, torch.rand(2, 2, 2) > 0.5]
    expected, num_pos = 0., 0
    for s, t, m in zip(student, teacher, masks):
        s, t, m = s.double().numpy(), t.double().numpy(), m.numpy()
        for n, i, j in zip(*np.nonzero(m)):
            expected += sum((s[n, c, i, j] - t[n, c, i, j]) ** 2 for c in range(4))
            num_pos += 1
    assert num_pos > 3
    expected = 0.02 * expected / (2 * num_pos)
    value = ImitationLoss(loss_weight=0.02)(student, teacher, masks)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_loss_without_positive_is_zero_finite_and_keeps_the_graph():
    student = [torch.randn(2, 4, 3, 3, requires_grad=True)]
    teacher = [torch.randn(2, 4, 3, 3)]
    value = ImitationLoss(0.02)(student, teacher, [torch.zeros(2, 3, 3, dtype=torch.bool)])
    assert value.item() == 0 and torch.isfinite(value)
    value.backward()
    assert torch.equal(student[0].grad, torch.zeros_like(student[0]))


def test_loss_ignores_non_finite_values_outside_the_mask():
    student = [torch.zeros(1, 2, 2, 2)]
    student[0][0, :, 1, 1] = float('inf')
    mask = torch.tensor([[[True, False], [False, False]]])
    value = ImitationLoss(1.)(student, [torch.ones(1, 2, 2, 2)], [mask])
    assert value.item() == pytest.approx(2 / 2)


def test_loss_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match='do not match'):
        ImitationLoss()([torch.zeros(1, 2, 3, 3)], [torch.zeros(1, 2, 3, 3)],
                        [torch.zeros(1, 3, 4, dtype=torch.bool)])
