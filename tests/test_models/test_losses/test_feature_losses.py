"""The multi-level feature losses (FeatureMSELoss, PKDLoss, ChannelWiseDivergenceLoss,
MGDLoss): per-level weights, avg_factor and reductions against unreduced references
written from each method's formula in numpy, the empty batch, and the configs'
defaults; PKD's Pearson-correlation identity and resizing, and CWD against an explicit loop
over images and channels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmkd.models.losses import ChannelWiseDivergenceLoss, PKDLoss
from mmkd.registry import MODELS

SHAPES = [(2, 3, 6, 5), (2, 3, 3, 3), (2, 3, 2, 1)]


def squared_error(s, t):
    return (s - t) ** 2


def standardized_half_squared_error(s, t, eps=1e-6):
    """PKD: each channel standardised over (N, H, W) with the unbiased std."""
    def z(x):
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        std = x.std(axis=(0, 2, 3), ddof=1, keepdims=True)
        return (x - mean) / (std + eps)
    return (z(s) - z(t)) ** 2 / 2


def channel_kl(s, t, tau=1.0):
    """CWD: tau^2 * KL(p_t || p_s) of each (image, channel), p = softmax over H*W."""
    n, c = s.shape[:2]
    out = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            p_s = np.exp(s[i, j].ravel() / tau)
            p_t = np.exp(t[i, j].ravel() / tau)
            p_s, p_t = p_s / p_s.sum(), p_t / p_t.sum()
            out[i, j] = tau ** 2 * np.sum(p_t * np.log(p_t / p_s))
    return out


def image_squared_error(s, t):
    """MGD: the squared error summed over each image."""
    return ((s - t) ** 2).reshape(len(s), -1).sum(axis=1)


# type, unreduced reference, shape of a weight for a level of shape (N, C, H, W)
LOSSES = {
    'FeatureMSELoss': (squared_error, lambda n, c, h, w: (n, 1, h, w)),
    'PKDLoss': (standardized_half_squared_error, lambda n, c, h, w: (n, c, h, w)),
    'ChannelWiseDivergenceLoss': (channel_kl, lambda n, c, h, w: (n, c)),
    'MGDLoss': (image_squared_error, lambda n, c, h, w: (n,)),
}


def features(seed, dtype=torch.float64, shapes=SHAPES):
    generator = torch.Generator().manual_seed(seed)
    student = [torch.randn(*shape, generator=generator, dtype=dtype).requires_grad_()
               for shape in shapes]
    teacher = [torch.randn(*shape, generator=generator, dtype=dtype) for shape in shapes]
    return student, teacher


def references(name, student, teacher):
    reference = LOSSES[name][0]
    return [reference(s.detach().double().numpy(), t.double().numpy())
            for s, t in zip(student, teacher)]


def level_weights(name, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(*LOSSES[name][1](*shape), generator=generator, dtype=torch.float64)
            for shape in SHAPES]


@pytest.mark.parametrize('cfg, published_weight', [
    (dict(type='FeatureMSELoss'), 1.0),
    (dict(type='PKDLoss', loss_weight=6.0), 6.0),
    (dict(type='ChannelWiseDivergenceLoss', tau=1.0, loss_weight=10.0), 10.0),
    (dict(type='MGDLoss'), 2e-5),
])
def test_config_default_is_the_sum_over_levels_of_the_level_means(cfg, published_weight):
    student, teacher = features(0, torch.float32)
    expected = published_weight * sum(
        r.mean() for r in references(cfg['type'], student, teacher))
    value = MODELS.build(cfg)(student, teacher)
    assert value.dtype == torch.float32 and value.shape == ()
    assert value.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_weight_per_level_and_reduction_override(name):
    student, teacher = features(1)
    weights = level_weights(name, 2)
    expected = [w.numpy() * r for w, r in zip(weights, references(name, student, teacher))]
    loss = MODELS.build(dict(type=name, loss_weight=0.5))

    none = loss(student, teacher, weights, reduction_override='none')
    assert len(none) == len(SHAPES)
    for level, (value, ref) in enumerate(zip(none, expected)):
        assert value.shape == ref.shape, level
        np.testing.assert_allclose(value.detach().numpy(), 0.5 * ref, rtol=1e-9, atol=1e-12)
    total = loss(student, teacher, weights, reduction_override='sum')
    assert total.item() == pytest.approx(0.5 * sum(r.sum() for r in expected), rel=1e-9)
    mean = loss(student, teacher, weights)
    level_means = [r.sum() / r.size for r in expected]  # the weight does not renormalise
    assert mean.item() == pytest.approx(0.5 * sum(level_means), rel=1e-9)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_avg_factor_divides_the_weighted_sum_of_all_levels(name):
    student, teacher = features(3)
    weights = level_weights(name, 4)
    expected = sum((w.numpy() * r).sum()
                   for w, r in zip(weights, references(name, student, teacher)))
    loss = MODELS.build(dict(type=name, loss_weight=2.0))
    value = loss(student, teacher, weights, avg_factor=7.0)
    assert value.item() == pytest.approx(2.0 * expected / 7.0, rel=1e-6)
    unweighted = sum(r.sum() for r in references(name, student, teacher))
    assert loss(student, teacher, avg_factor=7.0).item() == pytest.approx(
        2.0 * unweighted / 7.0, rel=1e-6)
    with pytest.raises(ValueError, match='avg_factor can not be used with reduction="sum"'):
        loss(student, teacher, avg_factor=7.0, reduction_override='sum')


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_sum_reduction_from_the_config(name):
    student, teacher = features(5)
    expected = sum(r.sum() for r in references(name, student, teacher))
    loss = MODELS.build(dict(type=name, loss_weight=1.0, reduction='sum'))
    assert loss(student, teacher).item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_empty_batch_gives_zero_in_the_graph(name):
    student, teacher = features(6, shapes=[(0, 3, 4, 4), (0, 3, 2, 2)])
    loss = MODELS.build(dict(type=name))
    for kwargs in (dict(), dict(reduction_override='sum'), dict(avg_factor=1.0)):
        value = loss(student, teacher, **kwargs)
        assert value.item() == 0. and value.requires_grad, kwargs
    value.backward()
    assert student[0].grad.shape == (0, 3, 4, 4)
    none = loss(student, teacher, reduction_override='none')
    assert [level.numel() for level in none] == [0, 0]


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_bad_arguments_are_refused_with_the_fix(name):
    student, teacher = features(7)
    loss = MODELS.build(dict(type=name))
    with pytest.raises(ValueError, match='same non-zero number of levels'):
        loss(student, teacher[:2])
    with pytest.raises(ValueError, match='same non-zero number of levels'):
        loss(student, teacher, level_weights(name, 0)[:2])
    with pytest.raises(ValueError, match=r'weight of shape \(5,\) does not fit'):
        loss(student, teacher, [torch.ones(5)] * len(SHAPES))
    with pytest.raises(ValueError, match="pass reduction_override='none' to the call"):
        MODELS.build(dict(type=name, reduction='none'))


def test_pkd_weight_fits_the_resized_level():
    student = [torch.randn(2, 3, 8, 8, dtype=torch.float64)]
    teacher = [torch.randn(2, 3, 4, 4, dtype=torch.float64)]
    resize_teacher = MODELS.build(dict(type='PKDLoss', resize_student=False))
    none = resize_teacher(student, teacher, [torch.ones(2, 1, 8, 8, dtype=torch.float64)],
                          reduction_override='none')
    assert none[0].shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match=r'does not fit the unreduced loss of shape '
                                         r'\(2, 3, 4, 4\)'):
        MODELS.build(dict(type='PKDLoss'))(student, teacher,
                                           [torch.ones(2, 1, 8, 8, dtype=torch.float64)])


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_a_level_without_weight_is_unweighted(name):
    student, teacher = features(8)
    weights = level_weights(name, 9)
    refs = references(name, student, teacher)
    expected = (weights[0].numpy() * refs[0]).sum() + refs[1].sum() + \
        (weights[2].numpy() * refs[2]).sum()
    loss = MODELS.build(dict(type=name, loss_weight=1.0))
    value = loss(student, teacher, [weights[0], None, weights[2]], reduction_override='sum')
    assert value.item() == pytest.approx(expected, rel=1e-9)


def pearson(x, y):
    x, y = x - x.mean(), y - y.mean()
    return (x * y).sum() / (x.norm() * y.norm())


def test_pkd_level_loss_is_one_minus_mean_pearson_correlation():
    torch.manual_seed(0)
    n, c, h, w = 2, 3, 4, 5
    t = torch.randn(n, c, h, w, dtype=torch.float64)
    s = 0.7 * t + torch.randn(n, c, h, w, dtype=torch.float64) * torch.tensor(
        [0.2, 1., 3.], dtype=torch.float64).view(1, c, 1, 1)  # three correlation levels
    m = n * h * w
    r = [pearson(s[:, k].flatten(), t[:, k].flatten()) for k in range(c)]
    assert r[0] > 0.9 and r[2] < 0.5  # the identity is checked over a range of r
    expected = (m - 1) / m * sum(1 - v for v in r) / c
    assert PKDLoss()([s], [t]).item() == pytest.approx(expected.item(), rel=1e-5)
    # summed over levels, times the weight; blind to per-channel scale and offset
    scaled = s * torch.tensor([2., 0.1, 5.], dtype=torch.float64).view(1, c, 1, 1) + 3.
    assert PKDLoss(loss_weight=6.)([s, scaled], [t, t]).item() == pytest.approx(
        12 * expected.item(), rel=1e-5)
    # perfectly correlated: 0; anti-correlated: 2 (M - 1) / M
    assert PKDLoss()([2 * t + 1], [t]).item() == pytest.approx(0., abs=1e-9)
    assert PKDLoss()([-t], [t]).item() == pytest.approx(2 * (m - 1) / m, rel=1e-5)


def test_pkd_resizes_the_student_or_the_teacher():
    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 8, 8)
    up = F.interpolate(s, size=(8, 8), mode='bilinear', align_corners=False)
    down = F.interpolate(t, size=(4, 4), mode='bilinear', align_corners=False)
    assert PKDLoss()([s], [t]).item() == pytest.approx(PKDLoss()([up], [t]).item(), rel=1e-6)
    assert PKDLoss(resize_student=False)([s], [t]).item() == pytest.approx(
        PKDLoss()([s], [down]).item(), rel=1e-6)


def test_cwd_matches_an_explicit_loop_over_images_and_channels():
    torch.manual_seed(2)
    tau, weight = 2.0, 3.0
    student = [torch.randn(2, 3, 4, 5), torch.randn(2, 3, 2, 2)]
    teacher = [torch.randn(2, 3, 4, 5) * 2, torch.randn(2, 3, 2, 2)]
    expected = 0.
    for s, t in zip(student, teacher):
        n, c = s.shape[:2]
        level = 0.
        for i in range(n):
            for k in range(c):
                p_t = np.exp(t[i, k].double().numpy().ravel() / tau)
                p_t /= p_t.sum()
                p_s = np.exp(s[i, k].double().numpy().ravel() / tau)
                p_s /= p_s.sum()
                level += float((p_t * np.log(p_t / p_s)).sum())
        expected += tau ** 2 * level / (n * c)
    loss = ChannelWiseDivergenceLoss(tau=tau, loss_weight=weight)(student, teacher)
    assert loss.item() == pytest.approx(weight * expected, rel=1e-5)
    assert ChannelWiseDivergenceLoss()(teacher, teacher).item() == pytest.approx(0, abs=1e-6)
