"""DETRPredictionKD: its losses against a float64 hand computation, the points both
decoders decode (DINO, plain Deformable DETR), the student's own loss and inference left
as they are, gradients in the student only, and the errors of pairs it cannot distil."""
import math

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import init_default_scope
from torch import nn

from mmkd.config import detector_config
from mmkd.models.distillers import DETRPredictionKD, KD
from mmkd.registry import MODELS
from mmkd.testing import small_detector, small_run_config

from helpers import build, distillation_config, set_up, train_one_step

DINO = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
DEFORMABLE = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'
DAB = 'mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py'
CONDITIONAL = 'mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py'
FASTER = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
R18_C3_C5 = dict(backbone=dict(depth=18), neck=dict(in_channels=[128, 256, 512]))
# Teachers with a ResNet-18 too: the backbone does not matter here, and builds faster.
DINO_R18 = dict(cfg_path=DINO, **R18_C3_C5)
DEFORMABLE_R18 = dict(cfg_path=DEFORMABLE, **R18_C3_C5)
# A DINO student unlike its teacher in every size the distiller must bridge: 12 queries
# (teacher 20), 3 decoder layers (teacher 6) and 3 feature levels (teacher 4).
DINO_R18_SMALL = dict(
    cfg_path=DINO, num_queries=12, num_feature_levels=3,
    backbone=dict(depth=18), neck=dict(in_channels=[128, 256, 512], num_outs=3),
    encoder=dict(num_layers=2, layer_cfg=dict(self_attn_cfg=dict(num_levels=3))),
    decoder=dict(num_layers=3, layer_cfg=dict(cross_attn_cfg=dict(num_levels=3))))


# ------------------------------------------------------------------ reference values
def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def kl_softened(t_row, s_row, temperature):
    """KL(softmax(t / T) || softmax(s / T)) from exp/log of python floats."""
    zt = sum(math.exp(v / temperature) for v in t_row)
    zs = sum(math.exp(v / temperature) for v in s_row)
    return sum(math.exp(t / temperature) / zt
               * ((t / temperature - math.log(zt)) - (s / temperature - math.log(zs)))
               for t, s in zip(t_row, s_row))


def giou(a, b):
    """Generalised IoU of two (cx, cy, w, h) boxes."""
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    inter = max(0., min(ax2, bx2) - max(ax1, bx1)) * max(0., min(ay2, by2) - max(ay1, by1))
    union = a[2] * a[3] + b[2] * b[3] - inter
    enclose = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
    return inter / union - (enclose - union) / enclose


def hand_losses(s_scores, s_boxes, t_scores, t_boxes, groups, pairs, temperature, weights):
    """KD-DETR's terms written from the formula: per (student layer, teacher layer) pair
    and point group, w = max_c sigmoid(t_c); cls = sum w T^2 KL / C; L1 = sum w mean|d| /
    sum w; GIoU = sum w (1 - giou) / sum w; summed over groups and pairs."""
    s_scores, s_boxes = s_scores.tolist(), s_boxes.tolist()
    t_scores, t_boxes = t_scores.tolist(), t_boxes.tolist()
    classes = len(s_scores[0][0][0])
    totals = dict(loss_cls=0., loss_bbox=0., loss_iou=0.)
    for s_layer, t_layer in pairs:
        start = 0
        for size in groups:
            points = [(b, k) for b in range(len(s_scores[0])) for k in range(start, start + size)]
            start += size
            cls = l1 = iou = weight_sum = 0.
            for b, k in points:
                t_row, s_row = t_scores[t_layer][b][k], s_scores[s_layer][b][k]
                t_box, s_box = t_boxes[t_layer][b][k], s_boxes[s_layer][b][k]
                w = max(sigmoid(v) for v in t_row)
                weight_sum += w
                cls += w * temperature ** 2 * kl_softened(t_row, s_row, temperature) / classes
                l1 += w * sum(abs(s - t) for s, t in zip(s_box, t_box)) / 4
                iou += w * (1 - giou(s_box, t_box))
            totals['loss_cls'] += weights[0] * cls
            totals['loss_bbox'] += weights[1] * l1 / weight_sum
            totals['loss_iou'] += weights[2] * iou / weight_sum
    return totals


def random_boxes(*shape, generator):
    """(..., 4) cx, cy, w, h boxes with sides in [0.2, 0.5], inside the image."""
    size = 0.2 + 0.3 * torch.rand(*shape, 2, generator=generator, dtype=torch.float64)
    centre = size / 2 + (1 - size) * torch.rand(*shape, 2, generator=generator,
                                                dtype=torch.float64)
    return torch.cat([centre, size], dim=-1)


@pytest.mark.parametrize('pairing', ['teacher_last', 'aligned'])
def test_losses_match_a_hand_computation(pairing):
    """3 student layers, 2 teacher layers, 2 images, groups of 2 and 3 points, 4 classes.
    The float64 losses may differ from the formula only by mmdet's epsilons: 1e-6 added
    to the union and enclosing areas in GIoU (areas >= 0.04 here, so < 3e-5 relative)
    and float32's eps added to the normalisers (< 1e-6 relative): rel=1e-4."""
    generator = torch.Generator().manual_seed(0)
    s_scores = 3 * torch.randn(3, 2, 5, 4, generator=generator, dtype=torch.float64)
    t_scores = 3 * torch.randn(2, 2, 5, 4, generator=generator, dtype=torch.float64)
    s_boxes = random_boxes(3, 2, 5, generator=generator)
    t_boxes = random_boxes(2, 2, 5, generator=generator)
    distiller = DETRPredictionKD(
        layer_pairing=pairing, loss_cls=dict(type='KDLoss', temperature=2.0, loss_weight=1.5),
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0))
    pairs = distiller.layer_pairs(3, 2)
    assert pairs == ([(0, 1), (1, 1), (2, 1)] if pairing == 'teacher_last'
                     else [(1, 0), (2, 1)])
    losses = distiller.prediction_losses(s_scores, s_boxes, t_scores, t_boxes, [2, 3])
    expected = hand_losses(s_scores, s_boxes, t_scores, t_boxes, [2, 3], pairs, 2.0,
                           (1.5, 5.0, 2.0))
    assert {k: v.item() for k, v in losses.items()} == pytest.approx(expected, rel=1e-4)
    # One group of 5 normalises the box terms over all 5 points: another value.
    merged = distiller.prediction_losses(s_scores, s_boxes, t_scores, t_boxes, [5])
    assert merged['loss_bbox'].item() != pytest.approx(expected['loss_bbox'], rel=1e-2)


# ---------------------------------------------------------------- real detectors
def detr_pair(student, teacher, shapes_data, tmp_path, **distiller):
    """The pair's host (weights initialised, train mode) and one preprocessed batch.

    The heads' last box layers start at zero in mmdet, so both models would predict
    exactly the points they are given; the teacher's are perturbed to give targets
    away from them."""
    cfg = distillation_config(student, teacher,
                              dict(detr=dict(type='DETRPredictionKD', **distiller)))
    cfg = small_run_config(cfg, shapes_data, str(tmp_path), image_size=64)
    model, batch = build(cfg)
    with torch.no_grad():
        for layer in model.teacher.bbox_head.modules():
            if isinstance(layer, nn.Linear) and layer.out_features == 4:
                layer.weight.normal_(std=0.1)
    model.train()
    return model, cfg, model.data_preprocessor(batch, True)


def student_features(model, data):
    """What the host records for the distiller: the student's neck levels, then its
    encoder memory; and the teacher's neck levels."""
    student, samples = model.student, data['data_samples']
    neck = student.extract_feat(data['inputs'])
    encoder_inputs, _ = student.pre_transformer(neck, samples)
    memory = student.forward_encoder(**encoder_inputs)['memory']
    return [*neck, memory], list(model.teacher.extract_feat(data['inputs']))


def assert_teacher_points_are_its_own_predictions(model, data, teacher_preds):
    """The teacher-point group of the teacher's pass is its own eval-mode prediction."""
    with torch.no_grad():
        own_scores, own_boxes = model.teacher._forward(data['inputs'], data['data_samples'])
    queries = own_scores.shape[2]
    torch.testing.assert_close(teacher_preds[0][:, :, :queries], own_scores)
    torch.testing.assert_close(teacher_preds[1][:, :, :queries], own_boxes)


def test_dino_pair_of_different_sizes(shapes_data, tmp_path):
    model, cfg, data = detr_pair(DINO_R18_SMALL, DINO_R18, shapes_data, tmp_path)
    student, teacher = model.student, model.teacher
    distiller = model.distillers['detr']
    assert (student.num_queries, teacher.num_queries) == (12, 20)
    assert distiller.num_random_points == 12  # the student's query count
    samples = data['data_samples']

    # The host's losses: the student's own are exactly those of the student alone.
    torch.manual_seed(0)
    losses = model(**data, mode='loss')
    torch.manual_seed(0)
    own = student.loss(data['inputs'], samples)
    assert set(losses) == set(own) | {f'distill_detr_{k}' for k in distiller.loss_names()}
    for key, value in own.items():
        assert torch.equal(losses[key], value), key
    distill = [losses[f'distill_detr_{k}'] for k in distiller.loss_names()]
    assert all(torch.isfinite(v) and v > 0 for v in distill)

    # Both decoders decode the teacher's 20 proposals and 12 random boxes; each group
    # attends only to itself: the teacher points alone give the same predictions.
    student_feats, teacher_feats = student_features(model, data)
    student.eval()  # no dropout, so two passes compare
    torch.manual_seed(1)
    student_preds, teacher_preds, groups = distiller.predictions(
        student_feats, teacher_feats, samples)
    assert groups == [20, 12]
    assert student_preds[0].shape == (3, 2, 32, 3) and teacher_preds[0].shape == (6, 2, 32, 3)
    assert_teacher_points_are_its_own_predictions(model, data, teacher_preds)
    distiller.num_random_points = 0
    alone, _, alone_groups = distiller.predictions(student_feats, teacher_feats, samples)
    distiller.num_random_points = 12
    assert alone_groups == [20]
    torch.testing.assert_close(alone[0], student_preds[0][:, :, :20])
    torch.testing.assert_close(alone[1], student_preds[1][:, :, :20])
    student.train()

    # The distillation trains the student's decoder, content queries and encoder.
    sum(distill).backward()
    for part in (student.decoder, student.query_embedding, student.encoder, student.backbone):
        assert sum(p.grad.abs().sum() for p in part.parameters() if p.grad is not None) > 0
    assert all(p.grad is None for p in teacher.parameters())
    model.zero_grad()
    train_one_step(model, data)

    # Inference is the student's: the host predicts as the student alone does.
    model.eval()
    alone_student = MMDET_MODELS.build(cfg.model.student)
    alone_student.load_state_dict(student.state_dict())
    alone_student.eval()
    with torch.no_grad():
        hosted = model.predict(data['inputs'], samples)
        plain = alone_student.predict(data['inputs'], [s.clone() for s in samples])
    for a, b in zip(hosted, plain):
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a.pred_instances[key], b.pred_instances[key]), key


def test_plain_deformable_detrs_share_the_teacher_queries(shapes_data, tmp_path):
    """Plain Deformable DETRs (learned queries): the student decodes the teacher's 20
    query embeddings and reference points; its last 3 layers learn the teacher's last 3."""
    student = dict(cfg_path=DEFORMABLE, num_queries=12, decoder=dict(num_layers=3),
                   **R18_C3_C5)
    model, _, data = detr_pair(student, DEFORMABLE_R18, shapes_data, tmp_path,
                               layer_pairing='aligned')
    distiller = model.distillers['detr']
    assert distiller.num_random_points == 0
    student_feats, teacher_feats = student_features(model, data)
    student_preds, teacher_preds, groups = distiller.predictions(
        student_feats, teacher_feats, data['data_samples'])
    assert groups == [20]
    assert student_preds[1].shape == (3, 2, 20, 4) and teacher_preds[1].shape == (6, 2, 20, 4)
    assert_teacher_points_are_its_own_predictions(model, data, teacher_preds)
    assert distiller.layer_pairs(3, 6) == [(0, 3), (1, 4), (2, 5)]
    distill = train_one_step(model, data)
    assert all(v > 0 for v in distill.values())


def test_box_based_families_decode_each_others_points(shapes_data, tmp_path):
    """A DAB-DETR teacher (one feature level, 20 learned anchors) and a DINO student
    (3 levels, 12 queries, 3 layers): the student decodes the teacher's anchors and 12
    random boxes with its own content queries."""
    teacher = dict(cfg_path=DAB, backbone=dict(depth=18), neck=dict(in_channels=[512]))
    model, _, data = detr_pair(DINO_R18_SMALL, teacher, shapes_data, tmp_path)
    student_feats, teacher_feats = student_features(model, data)
    student_preds, teacher_preds, groups = model.distillers['detr'].predictions(
        student_feats, teacher_feats, data['data_samples'])
    assert groups == [20, 12]
    assert student_preds[1].shape == (3, 2, 32, 4) and teacher_preds[1].shape == (6, 2, 32, 4)
    assert_teacher_points_are_its_own_predictions(model, data, teacher_preds)
    distill = train_one_step(model, data)
    assert all(v > 0 for v in distill.values())


def small(config, num_classes=3, **overrides):
    init_default_scope('mmdet')
    return MMDET_MODELS.build(small_detector(detector_config(dict(
        cfg_path=config, **overrides), 'detector'), num_classes))


def setup_error(student, teacher, **distiller):
    teacher.requires_grad_(False)
    with pytest.raises(ValueError) as error:
        set_up(DETRPredictionKD(**distiller), None, None, student, teacher)
    return str(error.value)


def test_errors_name_the_detectors_and_what_works():
    dino = small(DINO, **R18_C3_C5)
    plain = small(DEFORMABLE, **R18_C3_C5)

    # A non-DETR, through the host: refused at build, naming it, its head and what works.
    faster = detector_config(dict(cfg_path=FASTER, backbone=dict(depth=18), neck=dict(
        in_channels=[64, 128, 256, 512])), 'student')
    with pytest.raises(ValueError, match=r'the student is a FasterRCNN with a StandardRoIHead'
                                         r'.*use KD.*FitNet'):
        MODELS.build(dict(type='mmkd.DistillationDetector', student=small_detector(faster, 3),
                          teacher=small_detector(detector_config(DINO_R18, 'teacher'), 3),
                          distillers=dict(detr=dict(type='DETRPredictionKD'))))
    conditional = small(CONDITIONAL, backbone=dict(depth=18), neck=dict(in_channels=[512]))
    message = setup_error(dino, conditional)
    assert 'the teacher is a ConditionalDETR with a ConditionalDETRHead' in message
    assert "distil its 'neck' features instead (FitNet" in message and 'use KD' not in message

    other_classes = small(DINO, num_classes=4, **R18_C3_C5)
    with pytest.raises(ValueError, match='this teacher trains'):  # online distillation
        set_up(DETRPredictionKD(), None, None, dino, other_classes)
    assert 'student has 4 classes but the teacher has 3' in setup_error(other_classes, dino)
    assert 'the student is a Deformable DETR without as_two_stage' in setup_error(plain, dino)
    assert 'set num_random_points=0' in setup_error(plain, plain, num_random_points=5)

    # KD, which cannot distil DETRs, points to this distiller.
    with pytest.raises(ValueError, match='no box head KD can use.*use DETRPredictionKD'):
        set_up(KD(teacher='neck'), None, None, dino, dino)

    with pytest.raises(ValueError, match="remove 'student' / 'teacher'"):
        DETRPredictionKD(student='neck')
    with pytest.raises(ValueError, match='layer_pairing must be one of'):
        DETRPredictionKD(layer_pairing='first')
