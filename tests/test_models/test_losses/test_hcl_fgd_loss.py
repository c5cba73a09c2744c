"""HCLLoss and FGDLoss, which keep their methods' own normalisation (no weight /
avg_factor / reduction): the configs' defaults against numpy references of ReviewKD's and
FGD's formulas, and the empty batch."""
import math

import numpy as np
import pytest
import torch

from mmkd.registry import MODELS


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
