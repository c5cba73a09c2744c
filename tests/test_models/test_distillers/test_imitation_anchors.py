"""FGFI's prior boxes from one-stage dense heads (anchors and points) and the prior
generator checks at build."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmkd.config import build_detector, detector_config
from mmkd.models.distillers.imitation_anchors import ImitationAnchors
from mmkd.registry import MODELS
from mmkd.testing import small_detector

from helpers import FAMILIES, set_up, spec_levels


def brute_force_masks(boxes_per_level, sizes, gt_boxes, img_shape, psi=0.5):
    """FGFI's rule written out with python floats: IoU of each box with each prior box
    whose centre is inside the image; near = IoU > psi * (max over all levels)."""
    def iou(a, b):
        w = max(0., min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0., min(a[3], b[3]) - max(a[1], b[1]))
        inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    def inside(a):
        cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
        return 0 <= cx < img_shape[1] and 0 <= cy < img_shape[0]

    best = [max(iou(p, g) for level in boxes_per_level for p in level if inside(p))
            for g in gt_boxes]
    masks = []
    for level, (height, width) in zip(boxes_per_level, sizes):
        per_location = len(level) // (height * width)
        mask = torch.zeros(height, width, dtype=torch.bool)
        for k, prior in enumerate(level):
            if inside(prior) and any(iou(prior, g) > psi * m for g, m in zip(gt_boxes, best)):
                location = k // per_location
                mask[location // width, location % width] = True
        masks.append(mask)
    return masks


def hand_priors(family, sizes, strides):
    """Prior boxes of RetinaNet (9 anchors: octave base 4, scales 2^(i/3), ratios
    0.5, 1, 2, centred on the cell corner) or FCOS (points at the cell centre with a
    virtual square anchor of 4 strides), rebuilt from those definitions."""
    out = []
    for (height, width), stride in zip(sizes, strides):
        boxes = []
        for i in range(height):
            for j in range(width):
                if family == 'fcos':
                    cx, cy, half = (j + .5) * stride, (i + .5) * stride, 2 * stride
                    boxes.append((cx - half, cy - half, cx + half, cy + half))
                    continue
                for ratio in (0.5, 1.0, 2.0):
                    for octave in range(3):
                        scale = 4 * 2 ** (octave / 3) * stride
                        w, h = scale / math.sqrt(ratio), scale * math.sqrt(ratio)
                        cx, cy = j * stride, i * stride
                        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        out.append(boxes)
    return out


@pytest.mark.parametrize('family', ['retinanet', 'fcos'])
def test_fgfi_masks_on_one_stage_heads(family):
    """FGFI finds the dense head's prior generator by itself; RetinaNet's anchors and
    FCOS's virtual point anchors give the masks of an independent computation."""
    from mmdet.structures import DetDataSample
    init_default_scope('mmdet')
    config = FAMILIES[family]
    student = build_detector(small_detector(detector_config(config, 'student'), 3), 'student')
    fgfi = MODELS.build(dict(type='FGFI', student='neck'))
    strides = [8, 16, 32, 64, 128]
    set_up(fgfi, spec_levels('neck', strides), spec_levels('neck', strides), student=student)
    assert fgfi._anchors.path == 'bbox_head.prior_generator'
    sizes = [(12, 10), (6, 5), (3, 3), (2, 2), (1, 1)]
    gt = [[6., 10., 40., 52.], [50., 4., 76., 30.], [2., 2., 90., 80.]]
    sample = DetDataSample(metainfo=dict(img_shape=(92, 76)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor(gt))
    masks = fgfi.imitation_masks(sizes, [sample], 'cpu')
    expected = brute_force_masks(hand_priors(family, sizes, strides), sizes, gt, (92, 76))
    for mask, want in zip(masks, expected):
        assert torch.equal(mask[0], want)
    assert sum(int(m.sum()) for m in expected) > 3


def test_fgfi_checks_the_prior_generator_at_build():
    class Student(torch.nn.Module):
        def __init__(self, generator):
            super().__init__()
            self.bbox_head = type('Head', (), dict(prior_generator=generator))()

    class Generator:
        strides = [(8, 8), (16, 16)]

        def __init__(self, shape):
            self.shape = shape

        def single_level_grid_priors(self, size, level, device='cpu'):
            return torch.zeros(size[0] * size[1] * self.shape[0], self.shape[1])

    fgfi = MODELS.build(dict(type='FGFI', student='neck'))
    strides = spec_levels('neck', [8, 16])
    with pytest.raises(ValueError, match=r'priors of shape \(6, 3\).*anchor boxes \(K, 4\)'):
        set_up(fgfi, strides, strides, student=Student(Generator((1, 3))))
    set_up(fgfi, strides, strides, student=Student(Generator((1, 2))))  # points: fine
    assert fgfi._anchors.points == [True, True]
    with pytest.raises(ValueError, match='point_anchor_scale must be > 0'):
        MODELS.build(dict(type='FGFI', point_anchor_scale=0))
    with pytest.raises(ValueError, match="no anchor generator at 'rpn_head.prior_generator' "
                                         "or 'bbox_head.prior_generator'"):
        set_up(fgfi, strides, strides, student=torch.nn.Module())
    assert isinstance(fgfi._anchors, ImitationAnchors)
