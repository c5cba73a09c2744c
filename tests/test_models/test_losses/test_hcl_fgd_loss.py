"""HCLLoss and FGDLoss, which keep their methods' own normalisation (no weight /
avg_factor / reduction): the configs' defaults against numpy references of ReviewKD's and
FGD's formulas, and the empty batch; HCL's pooled sizes, weights and bad input against
values computed independently here."""
import math

import numpy as np
import pytest
import torch

from mmkd.models.losses import HCLLoss
from mmkd.registry import MODELS

from helpers import adaptive_pool, hcl_reference, mse


def adaptive_average_pool(x, size):
    """(N, C, H, W) -> (N, C, size, size); bin i spans [floor(i*H/size), ceil((i+1)*H/size))."""
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (size, size))
    for i in range(size):
        rows = slice(i * h // size, math.ceil((i + 1) * h / size))
        for j in range(size):
            cols = slice(j * w // size, math.ceil((j + 1) * w / size))
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


def reviewkd_hcl(s, t):
    """ReviewKD's HCL of one level: the MSE, then the MSE of the 4x4, 2x2, 1x1 poolings
    whose size is below the level's height, weighted 1, 1/2, 1/4, ..., over their sum."""
    total, norm, weight = ((s - t) ** 2).mean(), 1., 1.
    for size in (4, 2, 1):
        if size >= s.shape[2]:
            continue
        weight /= 2
        total += weight * ((adaptive_average_pool(s, size)
                            - adaptive_average_pool(t, size)) ** 2).mean()
        norm += weight
    return total / norm


def test_hcl_default_config_is_reviewkds_sum_over_levels():
    generator = torch.Generator().manual_seed(0)
    # Levels taller than, equal to and below the pool sizes, one narrower than 4 columns
    # (pooled to 4x4 all the same: only the height decides, as in the authors' code).
    shapes = [(2, 3, 9, 7), (2, 3, 8, 3), (2, 3, 4, 4), (2, 3, 1, 2)]
    student = [torch.randn(*shape, generator=generator) for shape in shapes]
    teacher = [torch.randn(*shape, generator=generator) for shape in shapes]
    expected = sum(reviewkd_hcl(s.double().numpy(), t.double().numpy())
                   for s, t in zip(student, teacher))
    assert MODELS.build(dict(type='HCLLoss'))(student, teacher).item() == pytest.approx(
        expected, rel=1e-5)


def test_hcl_empty_batch_gives_zero_in_the_graph():
    student = [torch.zeros(0, 3, 8, 8, requires_grad=True), torch.zeros(0, 3, 2, 2)]
    value = MODELS.build(dict(type='HCLLoss'))(student, [torch.zeros(0, 3, 8, 8),
                                                         torch.zeros(0, 3, 2, 2)])
    assert value.item() == 0. and value.requires_grad
    value.backward()
    assert student[0].grad.shape == (0, 3, 8, 8)


def fgd_terms(s, t, fg, bg, gs, gt, temperature):
    """FGD's fg, bg, attention and global sums of one level, divided by N (numpy)."""
    n, c, h, w = t.shape

    def attention(x):
        spatial = np.exp(np.abs(x).mean(axis=1).reshape(n, -1) / temperature)
        channel = np.exp(np.abs(x).mean(axis=(2, 3)) / temperature)
        return (h * w * spatial / spatial.sum(axis=1, keepdims=True)).reshape(n, h, w), \
            c * channel / channel.sum(axis=1, keepdims=True)

    spatial_t, channel_t = attention(t)
    spatial_s, channel_s = attention(s)
    error = (s - t) ** 2 * spatial_t[:, None] * channel_t[:, :, None, None]
    return dict(loss_fg=(error * fg[:, None]).sum() / n,
                loss_bg=(error * bg[:, None]).sum() / n,
                loss_att=(np.abs(channel_s - channel_t).sum()
                          + np.abs(spatial_s - spatial_t).sum()) / n,
                loss_global=((gs - gt) ** 2).sum() / n)


def test_fgd_default_config_is_the_four_weighted_terms_summed_over_levels():
    generator = torch.Generator().manual_seed(1)
    shapes = [(2, 4, 6, 6), (2, 4, 3, 5)]
    s, t, gs, gt = ([torch.randn(*shape, generator=generator) for shape in shapes]
                    for _ in range(4))
    fg = [torch.rand(n, h, w, generator=generator) for n, _, h, w in shapes]
    bg = [(f == 0).float() for f in fg]
    values = MODELS.build(dict(type='FGDLoss'))(s, t, fg, bg, gs, gt)
    weights = dict(loss_fg=1e-3, loss_bg=5e-4, loss_att=1e-3, loss_global=5e-6)
    expected = dict.fromkeys(weights, 0.)
    for level in zip(s, t, fg, bg, gs, gt):
        terms = fgd_terms(*(x.double().numpy() for x in level), temperature=0.5)
        expected = {key: expected[key] + weights[key] * terms[key] for key in expected}
    assert sorted(values) == sorted(weights)
    for key, value in values.items():
        assert value.item() == pytest.approx(expected[key], rel=1e-5), key


def test_fgd_empty_batch_gives_zeros_in_the_graph():
    s = [torch.zeros(0, 4, 6, 6, requires_grad=True)]
    zeros = [torch.zeros(0, 4, 6, 6)]
    masks = [torch.zeros(0, 6, 6)]
    values = MODELS.build(dict(type='FGDLoss'))(s, zeros, masks, masks, s, zeros)
    assert all(v.item() == 0. for v in values.values())
    sum(values.values()).backward()
    assert s[0].grad.shape == (0, 4, 6, 6)


def test_hcl_hand_computed_value():
    # 2x2 maps: sizes 4 and 2 are skipped (>= H), only the 1x1 pool is used (weight 1/2).
    s = torch.zeros(1, 1, 2, 2)
    t = torch.tensor([[[[1., 3.], [5., 7.]]]])
    # mse = (1 + 9 + 25 + 49) / 4 = 21; global means 0 vs 4 -> 16; (21 + 16/2) / 1.5
    assert HCLLoss()([s], [t]).item() == pytest.approx(29 / 1.5)


@pytest.mark.parametrize('size, used_weights', [
    (8, [1, 1 / 2, 1 / 4, 1 / 8]),  # 4, 2, 1 all used
    (4, [1, 1 / 2, 1 / 4]),         # 4 skipped: 2 gets 1/2, 1 gets 1/4
    (2, [1, 1 / 2]),                # 4 and 2 skipped
    (1, [1]),                       # plain MSE
])
def test_hcl_skips_sizes_and_normalises_weights(size, used_weights):
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, size, size), torch.randn(2, 3, size, size)
    pooled = [mse(s, t)] + [mse(adaptive_pool(s, pool), adaptive_pool(t, pool))
                            for pool in (4, 2, 1) if pool < size]
    assert len(pooled) == len(used_weights)
    expected = sum(w * v for w, v in zip(used_weights, pooled)) / sum(used_weights)
    assert HCLLoss()([s], [t]).item() == pytest.approx(expected, rel=1e-5)


def test_hcl_uneven_sizes_levels_sum_and_loss_weight():
    torch.manual_seed(1)
    # FPN-like sizes that do not divide by the pool sizes (adaptive bins overlap).
    shapes = [(2, 4, 13, 19), (2, 4, 7, 10), (2, 4, 4, 5), (2, 4, 2, 3)]
    s = [torch.randn(*shape) for shape in shapes]
    t = [torch.randn(*shape) for shape in shapes]
    expected = 0.7 * sum(hcl_reference(a, b) for a, b in zip(s, t))
    assert HCLLoss(loss_weight=0.7)(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_hcl_custom_pool_sizes_in_given_order():
    torch.manual_seed(2)
    s, t = torch.randn(1, 2, 6, 6), torch.randn(1, 2, 6, 6)
    # (1, 3): 1 gets weight 1/2, 3 gets 1/4.
    expected = (mse(s, t) + mse(adaptive_pool(s, 1), adaptive_pool(t, 1)) / 2
                + mse(adaptive_pool(s, 3), adaptive_pool(t, 3)) / 4) / 1.75
    loss = MODELS.build(dict(type='mmkd.HCLLoss', pool_sizes=(1, 3)))
    assert loss([s], [t]).item() == pytest.approx(expected, rel=1e-5)


def test_hcl_bad_input():
    with pytest.raises(ValueError, match='pool_sizes must be positive ints'):
        HCLLoss(pool_sizes=(4, 0))
    with pytest.raises(ValueError, match='level 0 has student shape'):
        HCLLoss()([torch.zeros(1, 2, 4, 4)], [torch.zeros(1, 3, 4, 4)])
    with pytest.raises(ValueError, match='same non-zero number of levels'):
        HCLLoss()([torch.zeros(1, 2, 4, 4)], [])
