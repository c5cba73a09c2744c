"""dense_targets: the assignment is the one the head's own loss uses (captured from its
loss calls), and decode_boxes gives the boxes of known predictions."""
import math

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmkd.config import detector_config
from mmkd.models.distillers.dense_targets import (decode_boxes, dense_head_kind, dense_priors,
                                                  dense_targets, head_kind)

CONFIGS = {
    'retinanet': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'atss': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'gfl': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'fcos': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
}
CHANNELS = 32  # GroupNorm heads (ATSS, GFL, FCOS) use 32 groups
BATCH_SHAPE = (128, 128)


def build_head(family, **overrides):
    model = detector_config(CONFIGS[family], 'student')
    cfg = model.bbox_head
    cfg.update(num_classes=3, in_channels=CHANNELS, feat_channels=CHANNELS, stacked_convs=1,
               train_cfg=model.get('train_cfg'), test_cfg=model.test_cfg, **overrides)
    torch.manual_seed(0)
    head = MMDET_MODELS.build(cfg)
    return head.train()


def data_samples():
    """Two images in a 128x128 batch; the second is padded below row 96, so anchors
    there are invalid (label weight 0 for anchor heads)."""
    boxes = [[[10., 12., 60., 70.], [70., 20., 120., 90.], [30., 30., 46., 44.]],
             [[5., 40., 50., 90.]]]
    labels = [[0, 2, 1], [1]]
    shapes = [(128, 128), (96, 128)]
    samples = []
    for image_boxes, image_labels, shape in zip(boxes, labels, shapes):
        sample = DetDataSample(metainfo=dict(img_shape=shape, pad_shape=shape,
                                             batch_input_shape=BATCH_SHAPE))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(image_boxes),
                                           labels=torch.tensor(image_labels))
        samples.append(sample)
    return samples


def head_outputs(head):
    torch.manual_seed(1)
    feats = tuple(torch.randn(2, CHANNELS, BATCH_SHAPE[0] // s, BATCH_SHAPE[1] // s)
                  for s in (8, 16, 32, 64, 128))
    return head(feats)


class LossCalls:
    """Every call of a loss module: (positional args, keyword args)."""

    def __init__(self, module):
        self.calls = []
        self.handle = module.register_forward_hook(
            lambda m, args, kwargs, out: self.calls.append((args, kwargs)), with_kwargs=True)


def run_head_loss(head, outputs, samples):
    """Run the head's own loss, capturing what its classification/centerness/box losses get."""
    calls = {name: LossCalls(getattr(head, name))
             for name in ('loss_cls', 'loss_centerness', 'loss_bbox') if hasattr(head, name)}
    gts = [s.gt_instances for s in samples]
    head.loss_by_feat(*outputs, gts, [s.metainfo for s in samples])
    for capture in calls.values():
        capture.handle.remove()
    return {name: capture.calls for name, capture in calls.items()}


@pytest.mark.parametrize('family', ['retinanet', 'atss', 'gfl'])
def test_anchor_head_targets_are_the_loss_targets(family):
    head = build_head(family)
    outputs = head_outputs(head)
    samples = data_samples()
    targets = dense_targets(head, outputs[0], samples)
    calls = run_head_loss(head, outputs, samples)

    assert targets.kind == {'retinanet': 'anchor'}.get(family, family)
    # One loss_cls call per level with the level's (B * N_l) labels and label weights.
    assert len(calls['loss_cls']) == 5
    for level, (args, kwargs) in enumerate(calls['loss_cls']):
        score = outputs[0][level]
        n_level = score.shape[2] * score.shape[3] * head.num_base_priors
        assert targets.labels[level].shape == targets.label_weights[level].shape == (2, n_level)
        assert targets.priors[level].shape == (n_level, 4)
        labels = args[1][0] if family == 'gfl' else args[1]  # GFL passes (labels, scores)
        weights = kwargs['weight'] if family == 'gfl' else args[2]
        assert torch.equal(targets.labels[level].reshape(-1), labels)
        assert torch.equal(targets.label_weights[level].reshape(-1), weights)
        assert targets.avg_factor == kwargs['avg_factor']
    positives = sum(int(mask.sum()) for mask in targets.pos_masks)
    assert positives > 0 and targets.num_pos == positives == targets.avg_factor
    # Rows 12..15 of level 0 (stride 8) lie in image 1's padding: invalid anchors there,
    # label weight 0; image 0 has its full 128 rows.
    below = [w.view(16, 16, -1)[12:] for w in targets.label_weights[0]]
    assert below[1].max() == 0 and below[0].min() == 1
    if family == 'atss':  # centerness targets of the positives, in the loss's order
        captured = torch.cat([args[1] for args, _ in calls['loss_centerness']])
        ours = torch.cat([c.reshape(-1)[m.reshape(-1)] for c, m in
                          zip(targets.centerness_targets, targets.pos_masks)])
        torch.testing.assert_close(ours, captured)
        assert targets.centerness_sum == pytest.approx(max(captured.sum().item(), 1))


def test_fcos_targets_are_the_loss_targets():
    head = build_head('fcos')
    outputs = head_outputs(head)
    samples = data_samples()
    targets = dense_targets(head, outputs[0], samples)
    calls = run_head_loss(head, outputs, samples)
    (cls_args, cls_kwargs), = calls['loss_cls']
    assert torch.equal(torch.cat([level.reshape(-1) for level in targets.labels]), cls_args[1])
    assert targets.kind == 'fcos' and targets.bbox_weights is None
    assert sum(int(mask.sum()) for mask in targets.pos_masks) > 0
    assert all(torch.equal(w, torch.ones_like(w)) for w in targets.label_weights)
    assert targets.avg_factor == targets.num_pos == cls_kwargs['avg_factor']
    (box_args, box_kwargs), = calls['loss_bbox']
    assert targets.centerness_sum == pytest.approx(float(box_kwargs['avg_factor']), rel=1e-6)
    ours = torch.cat([c.reshape(-1)[m.reshape(-1)] for c, m in
                      zip(targets.centerness_targets, targets.pos_masks)])
    torch.testing.assert_close(ours, box_kwargs['weight'])
    assert targets.priors[0].shape == (16 * 16, 2)


def test_prior_order_matches_the_score_layout():
    """Prior (h * W + w) * A + a of a level is anchor a of location (h, w): its centre
    is (w, h) * stride, as the (B, H, W, A * C) layout of the scores puts it."""
    head = build_head('retinanet')
    sizes = [(4, 6), (2, 3), (1, 2), (1, 1), (1, 1)]
    anchors = dense_priors(head, [torch.zeros(1, 27, h, w) for h, w in sizes])
    assert [level.shape[0] for level in anchors] == [h * w * 9 for h, w in sizes]
    anchors = anchors[0]
    for h in range(4):
        for w in range(6):
            for a in range(9):
                box = anchors[(h * 6 + w) * 9 + a]
                assert ((box[0] + box[2]) / 2).item() == pytest.approx(w * 8, abs=1e-5)
                assert ((box[1] + box[3]) / 2).item() == pytest.approx(h * 8, abs=1e-5)


def test_decode_anchor_deltas_by_hand():
    head = build_head('atss')  # target_stds (0.1, 0.1, 0.2, 0.2)
    scores = [torch.zeros(2, 3, 2, 2)]
    anchors = dense_priors(head, scores * 5)
    deltas = torch.tensor([0.5, -0.25, 0.3, -0.1])
    preds = [torch.zeros(2, 4, 2, 2)] * 5
    preds[0] = deltas.view(1, 4, 1, 1).repeat(2, 1, 2, 2)
    boxes = decode_boxes(head, preds, anchors)
    for index in range(4):
        x1, y1, x2, y2 = anchors[0][index].double().tolist()
        aw, ah = x2 - x1, y2 - y1
        cx = (x1 + x2) / 2 + 0.5 * 0.1 * aw
        cy = (y1 + y2) / 2 - 0.25 * 0.1 * ah
        w, h = aw * math.exp(0.3 * 0.2), ah * math.exp(-0.1 * 0.2)
        expected = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        torch.testing.assert_close(boxes[0][1, index].double(), expected.double())
    # Zero deltas decode to the anchors themselves.
    torch.testing.assert_close(boxes[1][0], anchors[1])


def test_decode_gfl_distribution_and_fcos_distances_by_hand():
    head = build_head('gfl')
    scores = [torch.zeros(1, 3, 2, 2)] * 5
    anchors = dense_priors(head, scores)
    bins = head.reg_max + 1
    logits = torch.full((1, 4, bins, 2, 2), -50.)
    for edge, k in enumerate((3, 1, 4, 2)):  # all mass on bin k: distance k strides
        logits[:, edge, k] = 50.
    preds = [logits.view(1, 4 * bins, 2, 2)] * 5
    boxes = decode_boxes(head, preds, anchors)
    for level, stride in enumerate((8, 16, 32, 64, 128)):
        x1, y1, x2, y2 = anchors[level][3].tolist()
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        expected = torch.tensor([cx - 3 * stride, cy - stride, cx + 4 * stride,
                                 cy + 2 * stride])
        torch.testing.assert_close(boxes[level][0, 3], expected)

    fcos = build_head('fcos', norm_on_bbox=True)
    points = dense_priors(fcos, scores)
    distances = torch.tensor([2., 1., 3., 0.5]).view(1, 4, 1, 1).repeat(1, 1, 2, 2)
    for training, unit in ((True, 16), (False, 1)):  # stride units only in training
        fcos.train(training)
        box = decode_boxes(fcos, [distances] * 5, points)[1][0, 2]
        x, y = points[1][2].tolist()
        expected = torch.tensor([x - 2 * unit, y - unit, x + 3 * unit, y + 0.5 * unit])
        torch.testing.assert_close(box, expected)


def test_unsupported_heads_are_named():
    rtmdet = build_head('atss')
    rtmdet.__class__ = type('RTMDetHead', (type(rtmdet), ), {})
    with pytest.raises(ValueError, match='supports .*FCOSHead.*the student has RTMDetHead.*KD'):
        head_kind(rtmdet)

    class TwoStage(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.roi_head = torch.nn.Module()
            self.roi_head.bbox_head = torch.nn.Linear(1, 1)

    with pytest.raises(ValueError, match=r'BCKD .*teacher \(TwoStage\) is a two-stage.*Linear'
                                         r'.*Use KD'):
        dense_head_kind(TwoStage(), 'teacher', 'BCKD')
    with pytest.raises(ValueError, match='one data sample per image'):
        dense_targets(build_head('retinanet'), [torch.zeros(2, 27, 2, 2)] * 5, data_samples()[:1])
