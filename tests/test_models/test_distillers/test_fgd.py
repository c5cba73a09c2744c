"""FGD: the foreground / background masks and the four terms against references written
from the paper's formulas, and its need for ground truth."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmkd.models.distillers import FGD
from mmkd.models.distillers.fgd_masks import fgd_masks

from helpers import levels, set_up


def box_cells(box, stride, valid):
    """Cells (rows, cols) a box covers on a map of the given stride, by the FGD rule."""
    x1, y1, x2, y2 = (v / stride for v in box)
    rows = range(max(0, math.floor(y1)), min(valid[0] - 1, math.ceil(y2)) + 1)
    cols = range(max(0, math.floor(x1)), min(valid[1] - 1, math.ceil(x2)) + 1)
    return rows, cols


def test_fgd_masks_on_hand_placed_boxes():
    boxes = [torch.tensor([[0., 0., 15., 15.], [8., 8., 40., 24.]]),  # overlapping boxes
             torch.tensor([[30., 20., 48., 40.]]),  # in an image padded on two sides
             torch.zeros(0, 4)]  # no box
    img_shapes = [(64, 64), (40, 48), (64, 56)]
    fg, bg = fgd_masks((8, 8), boxes, img_shapes, (64, 64))
    # Image 0: cells 0..2 x 0..2 (1/9) and rows 1..3 x cols 1..5 (1/15); overlap keeps 1/9.
    expected = np.zeros((8, 8))
    expected[1:4, 1:6] = 1 / 15
    expected[0:3, 0:3] = 1 / 9
    np.testing.assert_allclose(fg[0].numpy(), expected, rtol=1e-6)
    background = expected == 0
    np.testing.assert_allclose(bg[0].numpy(), background / background.sum(), rtol=1e-6)
    # Image 1: valid area 5 x 6 cells; the box is clipped to it: rows 2..4, cols 3..5.
    expected = np.zeros((8, 8))
    expected[2:5, 3:6] = 1 / 9
    np.testing.assert_allclose(fg[1].numpy(), expected, rtol=1e-6)
    background = np.zeros((8, 8))
    background[:5, :6] = 1
    background[2:5, 3:6] = 0
    np.testing.assert_allclose(bg[1].numpy(), background / 21, rtol=1e-6)
    assert bg[1, 5:].sum() == 0 and bg[1, :, 6:].sum() == 0  # padding is neither
    # Image 2: no box -> all of its 8 x 7 valid cells are background.
    assert fg[2].sum() == 0
    background = np.zeros((8, 8))
    background[:, :7] = 1 / 56
    np.testing.assert_allclose(bg[2].numpy(), background, rtol=1e-6)
    # The same rule from the helper, on another stride, boxes each summing to 1.
    fg4, bg4 = fgd_masks((16, 16), boxes[1:2], img_shapes[1:2], (64, 64))
    rows, cols = box_cells([30., 20., 48., 40.], 4, (10, 12))
    assert fg4[0].sum().item() == pytest.approx(1.)
    assert (fg4[0] > 0).sum() == len(rows) * len(cols)
    assert bg4[0].sum().item() == pytest.approx(1.)


def fgd_reference(s, t, fg, bg, gs, gt, temp, weights, per_area=False):
    """FGD's four terms for one level, by explicit loops over the images."""
    n, c, h, w = t.shape
    terms = dict(fg=0., bg=0., att=0., glob=0.)
    for i in range(n):
        def attention(x):
            spatial = torch.exp(x.abs().mean(0) / temp)
            channel = torch.exp(x.abs().mean((1, 2)) / temp)
            return h * w * spatial / spatial.sum(), c * channel / channel.sum()
        sp_t, ch_t = attention(t[i])
        sp_s, ch_s = attention(s[i])
        for k in range(c):
            err = (s[i, k] - t[i, k]) ** 2 * sp_t * ch_t[k]
            terms['fg'] += (err * fg[i]).sum()
            terms['bg'] += (err * bg[i]).sum()
        terms['att'] += (ch_s - ch_t).abs().sum() + (sp_s - sp_t).abs().sum()
        terms['glob'] += ((gs[i] - gt[i]) ** 2).sum()
    scale = n * (h * w if per_area else 1)
    return {key: weights[key] * value / scale for key, value in terms.items()}


def gc_reference(block, x):
    """A GcBlock written out: attention pooling, then the channel-add transform."""
    n, c = x.shape[:2]
    logits = F.conv2d(x, block.conv_mask.weight, block.conv_mask.bias).view(n, -1)
    context = (x.view(n, c, -1) * logits.softmax(1)[:, None]).sum(-1).view(n, c, 1, 1)
    conv1, norm, _, conv2 = block.channel_add_conv
    hidden = F.conv2d(context, conv1.weight, conv1.bias)
    hidden = F.relu(F.layer_norm(hidden, hidden.shape[1:], norm.weight, norm.bias))
    return x + F.conv2d(hidden, conv2.weight, conv2.bias)


def samples(boxes, img_shapes, batch_shape):
    out = []
    for b, shape in zip(boxes, img_shapes):
        sample = DetDataSample(metainfo=dict(img_shape=shape, batch_input_shape=batch_shape))
        sample.gt_instances = InstanceData(bboxes=b, labels=torch.zeros(len(b)).long())
        out.append(sample)
    return out


@pytest.mark.parametrize('per_area', [False, True])
def test_fgd_distiller_matches_the_reference(per_area):
    torch.manual_seed(4)
    weights = dict(fg=1e-3, bg=5e-4, att=2e-3, glob=5e-6)
    distiller = FGD('neck', loss=dict(type='FGDLoss', temperature=0.5, alpha=weights['fg'],
                                      beta=weights['bg'], gamma=weights['att'],
                                      lambda_=weights['glob'], normalize_levels=per_area))
    set_up(distiller, levels((6, 8), (8, 16)), levels((8, 8), (8, 16)))
    assert isinstance(distiller.adapters[1], torch.nn.Identity)
    for block in [*distiller.student_context, *distiller.teacher_context]:
        assert block.channel_add_conv[-1].weight.abs().sum() == 0  # starts as the identity
        torch.nn.init.normal_(block.channel_add_conv[-1].weight)  # make the test see it
    boxes = [torch.tensor([[4., 4., 30., 20.]]), torch.zeros(0, 4)]
    data_samples = samples(boxes, [(64, 64), (48, 64)], (64, 64))
    s = [torch.randn(2, 6, 8, 8), torch.randn(2, 8, 4, 4)]
    t = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    losses = distiller(s, t, data_samples)
    expected = dict(fg=0., bg=0., att=0., glob=0.)
    for level, (x, y) in enumerate(zip(s, t)):
        aligned = distiller.adapters[level](x)
        fg, bg = fgd_masks(y.shape[2:], boxes, [(64, 64), (48, 64)], (64, 64))
        ref = fgd_reference(aligned, y, fg, bg,
                            gc_reference(distiller.student_context[level], aligned),
                            gc_reference(distiller.teacher_context[level], y), 0.5, weights,
                            per_area)
        expected = {key: expected[key] + ref[key] for key in expected}
    for key, name in dict(fg='loss_fg', bg='loss_bg', att='loss_att',
                          glob='loss_global').items():
        assert losses[name].item() == pytest.approx(float(expected[key]), rel=1e-4), key
    assert all(v.item() > 0 for v in losses.values())


def test_fgd_global_term_at_init_is_the_plain_squared_error():
    torch.manual_seed(5)
    distiller = FGD('neck', loss=dict(type='FGDLoss', lambda_=1.))
    set_up(distiller, levels((4, 8)), levels((4, 8)))
    s, t = [torch.randn(2, 4, 4, 4)], [torch.randn(2, 4, 4, 4)]
    loss = distiller(s, t, samples([torch.zeros(0, 4)] * 2, [(32, 32)] * 2, (32, 32)))
    assert loss['loss_global'].item() == pytest.approx(((s[0] - t[0]) ** 2).sum().item() / 2,
                                                       rel=1e-5)


def test_fgd_needs_ground_truth():
    distiller = FGD('neck')
    set_up(distiller, levels((4, 8)), levels((4, 8)))
    feats = [torch.randn(1, 4, 4, 4)]
    with pytest.raises(ValueError, match=r'gt_instances\.bboxes.*LoadAnnotations'):
        distiller(feats, feats, [DetDataSample(metainfo=dict(img_shape=(32, 32),
                                                             batch_input_shape=(32, 32)))])
    with pytest.raises(ValueError, match='needs the data samples of the batch'):
        distiller(feats, feats, None)
    no_meta = DetDataSample()
    no_meta.gt_instances = InstanceData(bboxes=torch.zeros(0, 4))
    with pytest.raises(ValueError, match='batch_input_shape'):
        distiller(feats, feats, [no_meta])
