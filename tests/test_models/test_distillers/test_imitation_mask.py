"""FGFI imitation masks on hand-built anchors and boxes (expected masks worked out here),
and on mmdet's real anchor generator against a brute-force computation."""
import numpy as np
import pytest
import torch
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import HorizontalBoxes

from mmkd.models.distillers.imitation_mask import imitation_masks, single_image_masks


def row_anchors(centres, width, height=10.):
    """One anchor per location, locations along x at y-centre 5: (W, 4)."""
    return torch.tensor([[c - width / 2, 5 - height / 2, c + width / 2, 5 + height / 2]
                         for c in centres])


def masks_of(anchors, sizes, boxes, img_shape, psi=0.5, mode='all'):
    masks = single_image_masks(anchors, sizes, torch.tensor(boxes, dtype=torch.float32),
                               img_shape, psi, mode)
    return [m.int().tolist() for m in masks]


# Four 10x10 anchors centred at x = 5, 15, 25, 35 (a 1x4 grid of stride 10).
GRID = [row_anchors([5, 15, 25, 35], 10)]


def test_single_box_marks_best_anchor_only():
    # box == anchor 0: IoU 1 there, 0 elsewhere.
    assert masks_of(GRID, [(1, 4)], [[0, 0, 10, 10]], (10, 40)) == [[[1, 0, 0, 0]]]


def test_threshold_is_strict():
    # box [5, 25] x [0, 10] (area 200): IoUs with the anchors are
    # 50/250 = 0.2, 100/200 = 0.5, 50/250 = 0.2, 0  ->  M = 0.5.
    box = [[5, 0, 25, 10]]
    # psi = 0.4: threshold 0.2 exactly; the anchors at 0.2 are NOT near (strict >).
    assert masks_of(GRID, [(1, 4)], box, (10, 40), psi=0.4) == [[[0, 1, 0, 0]]]
    # psi just below: 0.2 > 0.195, they are.
    assert masks_of(GRID, [(1, 4)], box, (10, 40), psi=0.39) == [[[1, 1, 1, 0]]]
    assert masks_of(GRID, [(1, 4)], box, (10, 40), psi=0.5) == [[[0, 1, 0, 0]]]


def test_union_over_boxes_and_anchors():
    # Two anchors per location: a 10x10 one and a 30x10 one, on a 1x4 grid.
    small = row_anchors([5, 15, 25, 35], 10)
    wide = row_anchors([5, 15, 25, 35], 30)
    anchors = [torch.stack([small, wide], dim=1).reshape(-1, 4)]  # (W * A, 4), A inner
    # box 1 = small anchor at x=5 (IoU 1 there; wide anchors: 100/300 at x=5 and 15,
    # below 0.5). box 2 = [20, 0, 50, 10] = the wide anchor at x=35 (IoU 1; the small
    # anchors at x=25 and x=35 reach only 100/300, the wide one at x=25 exactly 200/400,
    # not above 0.5).
    boxes = [[0, 0, 10, 10], [20, 0, 50, 10]]
    assert masks_of(anchors, [(1, 4)], boxes, (10, 40)) == [[[1, 0, 0, 1]]]
    # Only box 2 marks location 3 (through its wide anchor): union over anchors.
    assert masks_of(anchors, [(1, 4)], boxes[1:], (10, 40)) == [[[0, 0, 0, 1]]]


def test_empty_and_padding_gt_rows_are_ignored():
    box = [[5, 0, 25, 10]]
    expected = masks_of(GRID, [(1, 4)], box, (10, 40))
    padded = box + [[0, 0, 0, 0], [-1, -1, -1, -1], [30, 0, 30, 10], [3, 7, 1, 2]]
    assert masks_of(GRID, [(1, 4)], padded, (10, 40)) == expected
    assert masks_of(GRID, [(1, 4)], torch.zeros(0, 4), (10, 40)) == [[[0, 0, 0, 0]]]
    assert masks_of(GRID, [(1, 4)], [[0, 0, 0, 0], [-1, -1, -1, -1]], (10, 40)) == \
        [[[0, 0, 0, 0]]]
    nan_row = torch.tensor([[5, 0, 25, 10], [float('nan')] * 4])
    assert [m.int().tolist() for m in single_image_masks(GRID, [(1, 4)], nan_row,
                                                         (10, 40))] == expected


def test_locations_outside_the_image_are_not_positive():
    # A 1x4 grid of 20-wide anchors centred at 5, 15, 25, 35; the image is 20 wide, so
    # locations 2 and 3 (centres 25, 35) lie in the batch padding.
    anchors = [row_anchors([5, 15, 25, 35], 20)]
    # box [12, 20] touches the image border: IoUs 30/250 = 0.12, 80/200 = 0.4,
    # 50/230 = 0.217, 0. Unpadded image (40 wide): M = 0.4, threshold 0.2 -> 1 and 2.
    box = [[12, 0, 20, 10]]
    assert masks_of(anchors, [(1, 4)], box, (10, 40)) == [[[0, 1, 1, 0]]]
    # Image 20 wide: location 2 overlaps the box but lies in the padding.
    assert masks_of(anchors, [(1, 4)], box, (10, 20)) == [[[0, 1, 0, 0]]]


def test_padding_anchors_do_not_raise_the_max():
    # location 0: [6, 14] (centre 10, inside); location 1: [10, 30] (centre 20 = image
    # width, outside). box [10, 20]: IoU 40/140 = 0.286 inside, 100/200 = 0.5 outside.
    anchors = [torch.tensor([[6., 0, 14, 10], [10, 0, 30, 10]])]
    box = [[10, 0, 20, 10]]
    # psi = 0.6: M over inside anchors = 0.286 -> threshold 0.171 -> location 0 near.
    # Had the padded anchor counted, M = 0.5, threshold 0.3, location 0 would be dropped.
    assert masks_of(anchors, [(1, 2)], box, (10, 20), psi=0.6) == [[[1, 0]]]
    assert masks_of(anchors, [(1, 2)], box, (10, 40), psi=0.6) == [[[0, 1]]]


def test_rows_outside_the_image_on_a_2d_grid():
    # 3x3 grid of 10x10 anchors (stride 10, centres 5, 15, 25); image 20x30 (h x w):
    # row 2 (centre y = 25) is padding. Box covers the lower half of the grid.
    anchors = [torch.tensor([[x - 5., y - 5., x + 5., y + 5.]
                             for y in (5, 15, 25) for x in (5, 15, 25)])]
    # IoU 100/600 with each anchor of rows 1 and 2, 0 with row 0 (the box reaches into the
    # padding here only to show that overlap there does not count).
    box = [[0, 10, 30, 30]]
    assert masks_of(anchors, [(3, 3)], box, (30, 30)) == [[[0, 0, 0], [1, 1, 1], [1, 1, 1]]]
    assert masks_of(anchors, [(3, 3)], box, (20, 30)) == [[[0, 0, 0], [1, 1, 1], [0, 0, 0]]]


def test_multiple_levels_all_vs_level():
    # level 0: 2x2 grid of 10x10 anchors (stride 10); level 1: one 20x20 anchor.
    level0 = torch.tensor([[0., 0, 10, 10], [10, 0, 20, 10], [0, 10, 10, 20], [10, 10, 20, 20]])
    level1 = torch.tensor([[0., 0, 20, 20]])
    anchors, sizes = [level0, level1], [(2, 2), (1, 1)]
    small = [[0, 0, 10, 10]]  # level 0: IoU 1 at (0, 0); level 1: 100/400 = 0.25
    big = [[0, 0, 20, 20]]  # level 0: 0.25 everywhere; level 1: 1
    # 'all': M = 1 for both boxes, threshold 0.5: each marks its own level only.
    assert masks_of(anchors, sizes, small, (20, 20), mode='all') == [[[1, 0], [0, 0]], [[0]]]
    assert masks_of(anchors, sizes, big, (20, 20), mode='all') == [[[0, 0], [0, 0]], [[1]]]
    # 'level': M per level; small marks level 1 (0.25 > 0.125), big all of level 0.
    assert masks_of(anchors, sizes, small, (20, 20), mode='level') == [[[1, 0], [0, 0]], [[1]]]
    assert masks_of(anchors, sizes, big, (20, 20), mode='level') == [[[1, 1], [1, 1]], [[1]]]
    # union of both boxes
    assert masks_of(anchors, sizes, small + big, (20, 20), mode='all') == \
        [[[1, 0], [0, 0]], [[1]]]


def test_batch_shapes_dtype_and_no_grad():
    boxes = [torch.tensor([[0., 0, 10, 10]]), torch.zeros(0, 4),
             HorizontalBoxes(torch.tensor([[20., 0, 40, 10]]))]
    anchors = [GRID[0].clone().requires_grad_()]
    masks = imitation_masks(anchors, [(1, 4)], boxes, [(10, 40)] * 3)
    assert len(masks) == 1 and masks[0].shape == (3, 1, 4) and masks[0].dtype == torch.bool
    assert not masks[0].requires_grad
    assert masks[0].int().tolist() == [[[1, 0, 0, 0]], [[0, 0, 0, 0]], [[0, 0, 1, 1]]]


def test_bad_arguments():
    with pytest.raises(ValueError, match='psi must be in'):
        imitation_masks(GRID, [(1, 4)], [torch.zeros(0, 4)], [(10, 40)], psi=1.0)
    with pytest.raises(ValueError, match='max_iou_over'):
        imitation_masks(GRID, [(1, 4)], [torch.zeros(0, 4)], [(10, 40)], max_iou_over='x')
    with pytest.raises(ValueError, match='do not fill a 2x3 grid'):
        imitation_masks(GRID, [(2, 3)], [torch.zeros(0, 4)], [(10, 40)])


# --------------------------------------------------------------- real anchor generator
def brute_force_masks(anchors, sizes, boxes, img_shape, psi, mode):
    """Per-location, per-box loops in float64: the definition, written out."""
    height, width = img_shape
    per_level = []
    for level_anchors, (h, w) in zip(anchors, sizes):
        a = level_anchors.double().numpy().reshape(h, w, -1, 4)
        cx, cy = (a[..., 0] + a[..., 2]) / 2, (a[..., 1] + a[..., 3]) / 2
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        ious = []
        for box in boxes:
            iw = np.clip(np.minimum(a[..., 2], box[2]) - np.maximum(a[..., 0], box[0]), 0, None)
            ih = np.clip(np.minimum(a[..., 3], box[3]) - np.maximum(a[..., 1], box[1]), 0, None)
            inter = iw * ih
            union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
                     + (box[2] - box[0]) * (box[3] - box[1]) - inter)
            ious.append(np.where(inside, inter / union, 0.))
        per_level.append(ious)
    masks = [np.zeros((h, w), bool) for h, w in sizes]
    for g in range(len(boxes)):
        level_max = [per_level[lv][g].max() for lv in range(len(sizes))]
        for lv, (h, w) in enumerate(sizes):
            best = max(level_max) if mode == 'all' else level_max[lv]
            for i in range(h):
                for j in range(w):
                    if any(iou > psi * best for iou in per_level[lv][g][i, j]):
                        masks[lv][i, j] = True
    return masks


@pytest.mark.parametrize('mode', ['all', 'level'])
def test_matches_brute_force_on_mmdet_anchors(mode):
    generator = TASK_UTILS.build(dict(type='AnchorGenerator', scales=[2], ratios=[0.5, 1., 2.],
                                      strides=[4, 8, 16, 32]))
    sizes = [(24, 20), (12, 10), (6, 5), (3, 3)]  # a batch padded to 96x80 (one odd level)
    anchors = generator.grid_priors(sizes, device='cpu')
    rng = np.random.default_rng(0)
    img_shapes = [(90, 77), (61, 80)]
    boxes = []
    for h, w in img_shapes:
        xy = rng.uniform(0, 1, (6, 2)) * [w - 8, h - 8]
        wh = rng.uniform(0.05, 0.6, (6, 2)) * [w, h]
        b = np.concatenate([xy, np.minimum(xy + wh + 2, [w, h])], axis=1)
        boxes.append(torch.tensor(b, dtype=torch.float32))
    masks = imitation_masks(anchors, sizes, boxes, img_shapes, 0.5, mode)
    total = 0
    for n, (b, shape) in enumerate(zip(boxes, img_shapes)):
        expected = brute_force_masks(anchors, sizes, b.double().numpy(), shape, 0.5, mode)
        for level, exp in enumerate(expected):
            assert np.array_equal(masks[level][n].numpy(), exp), (n, level)
            total += exp.sum()
    assert total > 20  # the comparison is not vacuous


def test_mask_does_not_depend_on_batch_padding():
    generator = TASK_UTILS.build(dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1., 2.],
                                      strides=[4, 8, 16, 32, 64]))
    boxes = [torch.tensor([[3., 40, 50, 99], [60, 2, 99, 30], [20, 20, 99, 99]])]
    img_shape = [(100, 100)]
    own = [(25, 25), (13, 13), (7, 7), (4, 4), (2, 2)]  # padded to a multiple of the stride
    big = [(50, 40), (25, 20), (13, 10), (7, 5), (4, 3)]  # batch padded to 200x160
    for mode in ('all', 'level'):
        small_masks = imitation_masks(generator.grid_priors(own, device='cpu'), own, boxes,
                                      img_shape, 0.5, mode)
        big_masks = imitation_masks(generator.grid_priors(big, device='cpu'), big, boxes,
                                    img_shape, 0.5, mode)
        for s, b, (h, w) in zip(small_masks, big_masks, own):
            assert torch.equal(b[:, :h, :w], s)
            assert not b[:, h:].any() and not b[:, :, w:].any()
        assert sum(int(m.sum()) for m in small_masks) > 0
