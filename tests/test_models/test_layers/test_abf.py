"""ABF against values computed independently here (small tensors, known weights)."""
import math

import pytest
import torch

from mmkd.models.layers import ABF
from mmkd.registry import MODELS


def conv1x1(x, weight, bias=None):
    out = torch.einsum('oc,nchw->nohw', weight[:, :, 0, 0], x)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv3x3(x, weight):
    n, c, h, w = x.shape
    padded = torch.zeros(n, c, h + 2, w + 2, dtype=x.dtype)
    padded[:, :, 1:-1, 1:-1] = x
    return sum(torch.einsum('oc,nchw->nohw', weight[:, :, i, j], padded[:, :, i:i + h, j:j + w])
               for i in range(3) for j in range(3))


def batchnorm_eval(x, bn):
    return ((x - bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1)
            + bn.eps) * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1))


def nearest(x, size):
    """Nearest resize by its definition: source index floor(i * in / out)."""
    h, w = x.shape[2:]
    rows = [(i * h) // size[0] for i in range(size[0])]
    cols = [(j * w) // size[1] for j in range(size[1])]
    return x[:, :, rows][:, :, :, cols]


def _known_abf(fuse):
    torch.manual_seed(3)
    abf = ABF(in_channels=2, mid_channels=3, out_channels=4, fuse=fuse)
    with torch.no_grad():
        for p in abf.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        for bn in (abf.conv1[1], abf.conv2[1]):
            bn.running_mean.copy_(torch.randn_like(bn.running_mean))
            bn.running_var.copy_(torch.rand_like(bn.running_var) + 0.5)
    return abf.eval()


def _reference_abf(abf, x, residual=None):
    own = batchnorm_eval(conv1x1(x, abf.conv1[0].weight), abf.conv1[1])
    if residual is None:
        fused = own
    else:
        residual = nearest(residual, own.shape[2:])
        att = torch.sigmoid(conv1x1(torch.cat([own, residual], 1), abf.att_conv.weight,
                                    abf.att_conv.bias))
        fused = own * att[:, :1] + residual * att[:, 1:]
    return batchnorm_eval(conv3x3(fused, abf.conv2[0].weight), abf.conv2[1]), fused


@pytest.mark.parametrize('residual_size', [(2, 3), (3, 4), (5, 6)])
def test_abf_fusion_path(residual_size):
    abf = _known_abf(fuse=True)
    torch.manual_seed(4)
    x = torch.randn(2, 2, 5, 6)
    residual = torch.randn(2, 3, *residual_size)  # deeper level: smaller (or equal) size
    with torch.no_grad():
        out, fused = abf(x, residual)
        ref_out, ref_fused = _reference_abf(abf, x, residual)
    assert out.shape == (2, 4, 5, 6) and fused.shape == (2, 3, 5, 6)
    torch.testing.assert_close(fused, ref_fused, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)


def test_abf_without_fusion():
    abf = _known_abf(fuse=False)
    assert abf.att_conv is None
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        out, fused = abf(x)
        ref_out, ref_fused = _reference_abf(abf, x)
    torch.testing.assert_close(fused, ref_fused, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)


def test_abf_kaiming_uniform_a1_init():
    torch.manual_seed(5)
    abf = MODELS.build(dict(type='mmkd.ABF', in_channels=64, mid_channels=128, out_channels=32))
    for conv, fan_in in ((abf.conv1[0], 64), (abf.conv2[0], 128 * 9)):
        bound = math.sqrt(6 / (2 * fan_in))  # gain sqrt(2 / (1 + a^2)) with a = 1
        w = conv.weight.detach()
        assert w.abs().max() <= bound
        assert w.abs().max() > 0.99 * bound  # uniform over the whole range
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert conv.bias is None
    assert abf.att_conv.bias is not None


def test_abf_bad_input():
    with pytest.raises(ValueError, match='mid_channels must be a positive int'):
        ABF(4, 0, 4)
    fuse, last = ABF(2, 3, 4, fuse=True), ABF(2, 3, 4, fuse=False)
    with pytest.raises(ValueError, match='needs the residual'):
        fuse(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='takes no residual'):
        last(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r'residual must have shape \(N, 3, h, w\)'):
        fuse(torch.zeros(1, 2, 4, 4), torch.zeros(1, 5, 2, 2))
    with pytest.raises(ValueError, match=r'expects an \(N, 2, H, W\) feature'):
        fuse(torch.zeros(1, 7, 4, 4), torch.zeros(1, 3, 2, 2))
