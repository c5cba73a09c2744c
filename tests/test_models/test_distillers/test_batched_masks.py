"""FGFI's and FGD's masks, computed for all images (and FGFI's for all levels) at once, are
bit-identical to the per-image loops they replaced (kept here as the references), on
random batches with the awkward cases: images without boxes, padding rows, non-finite and
degenerate boxes, boxes reaching into the batch padding."""
import math

import numpy as np
import pytest
import torch
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import HorizontalBoxes, bbox_overlaps, get_box_tensor

from mmkd.models.distillers.fgd_masks import fgd_level_masks, fgd_masks
from mmkd.models.distillers.imitation_mask import imitation_masks


# ------------------------------------------------------- the per-image implementations
def per_image_imitation_masks(anchors, featmap_sizes, gt_boxes, img_shapes, psi, max_iou_over):
    """FGFI's masks as they were computed before: one image, then one level, at a time."""
    per_image = []
    for image_boxes, (img_h, img_w) in zip(gt_boxes, img_shapes):
        masks = [torch.zeros(tuple(size), dtype=torch.bool) for size in featmap_sizes]
        boxes = get_box_tensor(image_boxes).reshape(-1, 4)
        keep = torch.isfinite(boxes).all(dim=1) & (boxes[:, 2] > boxes[:, 0]) & \
            (boxes[:, 3] > boxes[:, 1])
        boxes = boxes[keep].float()
        if boxes.shape[0]:
            ious = []
            for level_anchors in anchors:
                level_anchors = level_anchors.float()
                iou = bbox_overlaps(level_anchors, boxes)
                cx = (level_anchors[:, 0] + level_anchors[:, 2]) * 0.5
                cy = (level_anchors[:, 1] + level_anchors[:, 3]) * 0.5
                inside = (cx >= 0) & (cx < img_w) & (cy >= 0) & (cy < img_h)
                ious.append(iou.masked_fill(~inside[:, None], 0.))
            level_max = torch.stack([iou.max(dim=0).values for iou in ious])
            if max_iou_over == 'all':
                thresholds = (psi * level_max.max(dim=0).values).expand_as(level_max)
            else:
                thresholds = psi * level_max
            for level, (iou, (height, width)) in enumerate(zip(ious, featmap_sizes)):
                near = (iou > thresholds[level][None, :]).any(dim=1)
                masks[level] = near.view(height, width, -1).any(dim=-1)
        per_image.append(masks)
    return [torch.stack([masks[level] for masks in per_image])
            for level in range(len(featmap_sizes))]


def per_image_fgd_masks(featmap_size, boxes, img_shapes, batch_input_shape):
    """FGD's masks of one level as they were computed before: one image at a time."""
    height, width = featmap_size
    scale_y, scale_x = height / batch_input_shape[0], width / batch_input_shape[1]
    fg = torch.zeros(len(boxes), height, width)
    bg = torch.zeros_like(fg)
    rows = torch.arange(height).view(1, -1, 1)
    cols = torch.arange(width).view(1, 1, -1)
    for i, (image_boxes, (img_h, img_w)) in enumerate(zip(boxes, img_shapes)):
        valid_h = min(height, math.ceil(img_h * scale_y))
        valid_w = min(width, math.ceil(img_w * scale_x))
        image_boxes = image_boxes.float().view(-1, 4)
        if len(image_boxes):
            x1 = (image_boxes[:, 0] * scale_x).floor().clamp(0, valid_w - 1).view(-1, 1, 1)
            y1 = (image_boxes[:, 1] * scale_y).floor().clamp(0, valid_h - 1).view(-1, 1, 1)
            x2 = (image_boxes[:, 2] * scale_x).ceil().clamp(0, valid_w - 1).view(-1, 1, 1)
            y2 = (image_boxes[:, 3] * scale_y).ceil().clamp(0, valid_h - 1).view(-1, 1, 1)
            inside = (rows >= y1) & (rows <= y2) & (cols >= x1) & (cols <= x2)
            value = 1. / ((y2 - y1 + 1) * (x2 - x1 + 1))
            fg[i] = (inside * value).amax(dim=0)
        bg[i, :valid_h, :valid_w] = (fg[i, :valid_h, :valid_w] == 0).float()
        bg[i] /= bg[i].sum().clamp(min=1)
    return fg, bg


# ------------------------------------------------------------------------- the batches
BATCH_INPUT = (96, 128)
IMG_SHAPES = [(96, 128), (70, 101), (96, 77), (41, 60)]


def random_boxes(seed):
    """Per image of IMG_SHAPES: random boxes, some reaching past the image into the batch
    padding; image 2 has none; image 1 also has padding, NaN and degenerate rows."""
    rng = np.random.default_rng(seed)
    boxes = []
    for index, (h, w) in enumerate(IMG_SHAPES):
        count = 0 if index == 2 else int(rng.integers(1, 9))
        xy = rng.uniform(0, 1, (count, 2)) * [w, h]
        wh = rng.uniform(2, 0.7 * max(h, w), (count, 2))
        image = torch.tensor(np.concatenate([xy, xy + wh], axis=1), dtype=torch.float32)
        if index == 1:
            image = torch.cat([image, torch.tensor([[0., 0, 0, 0], [float('nan')] * 4,
                                                    [30., 10, 30, 40], [50., 40, 20, 10]])])
        boxes.append(HorizontalBoxes(image) if index == 3 else image)
    return boxes


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('max_iou_over', ['all', 'level'])
def test_imitation_masks_equal_the_per_image_ones(seed, max_iou_over):
    generator = TASK_UTILS.build(dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1., 2.],
                                      strides=[8, 16, 32, 64]))
    sizes = [(12, 16), (6, 8), (3, 4), (2, 2)]
    anchors = generator.grid_priors(sizes, device='cpu')
    boxes = random_boxes(seed)
    psi = (0.3, 0.5, 0.7)[seed]
    batched = imitation_masks(anchors, sizes, boxes, IMG_SHAPES, psi, max_iou_over)
    expected = per_image_imitation_masks(anchors, sizes, boxes, IMG_SHAPES, psi, max_iou_over)
    assert [m.shape for m in batched] == [(len(IMG_SHAPES), *size) for size in sizes]
    assert all(torch.equal(got, want) for got, want in zip(batched, expected))
    assert sum(int(m.sum()) for m in expected) > 10  # not vacuous


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_fgd_masks_equal_the_per_image_ones(seed):
    boxes = [get_box_tensor(b) for b in random_boxes(seed)]
    boxes[1] = boxes[1][:-3]  # FGD takes the boxes as given: no NaN rows here
    sizes = [(24, 32), (12, 16), (6, 8), (3, 4)]
    fg_levels, bg_levels = fgd_level_masks(sizes, boxes, IMG_SHAPES, BATCH_INPUT)
    for size, fg, bg in zip(sizes, fg_levels, bg_levels):
        expected_fg, expected_bg = per_image_fgd_masks(size, boxes, IMG_SHAPES, BATCH_INPUT)
        assert torch.equal(fg, expected_fg) and torch.equal(bg, expected_bg), size
        assert (fg > 0).sum() > 0 and torch.equal(fgd_masks(size, boxes, IMG_SHAPES,
                                                            BATCH_INPUT)[0], fg)


def test_masks_of_a_batch_without_boxes():
    anchors = [torch.tensor([[0., 0, 10, 10], [10, 0, 20, 10]])]
    empty = [torch.zeros(0, 4), torch.zeros(0, 4)]
    masks = imitation_masks(anchors, [(1, 2)], empty, [(10, 20)] * 2)
    assert masks[0].shape == (2, 1, 2) and not masks[0].any()
    fg, bg = fgd_masks((1, 2), empty, [(10, 20), (10, 10)], (10, 20))
    assert not fg.any() and bg.tolist() == [[[0.5, 0.5]], [[1., 0.]]]
