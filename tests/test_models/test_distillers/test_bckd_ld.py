"""BCKD and LD between real dense heads against float64 computations written from the
formulas (assignment taken from what the student head's own loss receives), gradients,
composition with a feature distiller, and the errors of pairs they cannot distil."""
import math

import pytest
import torch

from mmkd.config import detector_config
from mmkd.registry import MODELS
from mmkd.testing import small_detector

from helpers import FAMILIES, R18, build_small, distillation_config, train_one_step

BCKD = dict(type='BCKD', teacher='neck')
LD = dict(type='LD', teacher='neck')


def run(model, data):
    """The training losses, with the student head's outputs and what its own
    classification loss received per level (labels, label weights, avg_factor)."""
    head = model.student.bbox_head
    outputs, received = [], []
    hooks = [head.register_forward_hook(lambda m, a, out: outputs.append(out)),
             head.loss_cls.register_forward_hook(
                 lambda m, args, kwargs, out: received.append((args, kwargs)), with_kwargs=True)]
    try:
        losses = model(**data, mode='loss')
    finally:
        for hook in hooks:
            hook.remove()
    gfl = 'GFL' in type(head).__name__
    labels = [args[1][0] if gfl else args[1] for args, _ in received]
    weights = [kwargs['weight'] if gfl else args[2] for args, kwargs in received]
    avg_factor = received[0][1]['avg_factor']
    with torch.no_grad():
        teacher = model.teacher.bbox_head(model.teacher.extract_feat(data['inputs']))
    return losses, outputs[0], teacher, labels, weights, avg_factor


def rows(level, channels):
    return level.detach().double().permute(0, 2, 3, 1).reshape(level.shape[0], -1, channels)


def decode(head, preds, level, anchors):
    """Boxes in pixels from one level's outputs, written from the coders' definitions."""
    stride = head.prior_generator.strides[level][0]
    centre = (anchors[:, :2] + anchors[:, 2:]) / 2
    if hasattr(head, 'reg_max'):  # GFL: expectation of each edge's distribution, x stride
        bins = head.reg_max + 1
        dist = rows(preds, 4 * bins).view(preds.shape[0], -1, 4, bins).softmax(-1)
        d = (dist * torch.arange(bins, dtype=torch.float64)).sum(-1) * stride
        return torch.cat([centre - d[..., :2], centre + d[..., 2:]], dim=-1)
    delta = rows(preds, 4)  # RetinaNet: means 0, stds 1, log-ratio clip 1000 / 16
    size = anchors[:, 2:] - anchors[:, :2]
    clip = abs(math.log(16 / 1000))
    c = centre + delta[..., :2] * size
    wh = size * delta[..., 2:].clamp(-clip, clip).exp()
    return torch.cat([c - wh / 2, c + wh / 2], dim=-1)


def giou(a, b):
    inter = ((torch.minimum(a[..., 2:], b[..., 2:]) - torch.maximum(a[..., :2], b[..., :2]))
             .clamp(min=0).prod(-1))
    area = lambda box: (box[..., 2:] - box[..., :2]).prod(-1)  # noqa: E731
    union = area(a) + area(b) - inter
    enclose = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])
               ).prod(-1)
    return inter / union - (enclose - union) / enclose


def bckd_reference(head, student, teacher, weights, num_pos, positive_levels=None):
    """BCKD's two terms, level by level (``positive_levels``: only those levels)."""
    classes = head.cls_out_channels
    sizes = [s.shape[-2:] for s in student[0]]
    anchors = [a.double() for a in head.prior_generator.grid_priors(sizes, device='cpu')]
    cls = box = 0.
    for level in range(len(sizes)):
        if positive_levels is not None and level not in positive_levels:
            continue
        q = rows(student[0][level], classes).sigmoid()
        p = rows(teacher[0][level], classes).sigmoid()
        w = weights[level].double().view(q.shape[:2])
        bce = -(p * q.log() + (1 - p) * (1 - q).log())
        cls += (w * (bce * (p - q).abs()).sum(-1)).sum()
        gap = (p - q).abs().max(-1)[0]
        s_box = decode(head, student[1][level], level, anchors[level])
        t_box = decode(head, teacher[1][level], level, anchors[level])
        box += (w * gap * (1 - giou(s_box, t_box))).sum()
    return 1.0 * cls.item() / num_pos, 4.0 * box.item() / num_pos


@pytest.mark.parametrize('family', ['gfl', 'retinanet'])
def test_bckd_matches_the_formula(family, shapes_data, tmp_path):
    config = FAMILIES[family]
    model, data = build_small(distillation_config(
        dict(cfg_path=config, **R18), config,
        dict(bckd=BCKD, gated=dict(BCKD, positive_levels_only=True))), shapes_data, tmp_path)
    losses, student, teacher, labels, weights, avg_factor = run(model, data)
    head = model.student.bbox_head
    num_pos = max(float(avg_factor), 1.)
    positive = [level for level, lab in enumerate(labels) if (lab < head.num_classes).any()]
    # Some levels of 64 px images have no positive: the two settings differ there.
    assert 0 < len(positive) < len(labels)
    assert min(float(w.min()) for w in weights) == (0 if family == 'retinanet' else 1)
    for name, levels in (('bckd', None), ('gated', positive)):
        cls, box = bckd_reference(head, student, teacher, weights, num_pos, levels)
        assert losses[f'distill_{name}_loss_cls'].item() == pytest.approx(cls, rel=2e-5)
        assert losses[f'distill_{name}_loss_box'].item() == pytest.approx(box, rel=2e-5)
        assert box > 0 and cls > 0

    # Both terms train the student's head (classifier and box regressor), never the teacher.
    cls_conv = head.gfl_cls if family == 'gfl' else head.retina_cls
    reg_conv = head.gfl_reg if family == 'gfl' else head.retina_reg
    losses['distill_bckd_loss_cls'].backward(retain_graph=True)
    assert cls_conv.weight.grad.abs().sum() > 0 and reg_conv.weight.grad is None
    model.zero_grad()
    losses['distill_bckd_loss_box'].backward()
    assert reg_conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def ld_reference(head, student, teacher, labels):
    """0.25 * sum over levels of sum_{positive, edge} w T^2 KL / 17 / 4, T = 10; and the
    float32 rounding bound of that value.

    At T = 10 both distributions are close to uniform and each edge's KL is a small
    difference of terms p_t log p_t and p_t log p_s of magnitude ~log 17: float32 gets
    each log-probability to a few ulps of its magnitude, an error that does not shrink
    with the KL. The bound is 8 ulps of sum_b p_t (|log p_t| + |log p_s|) per edge,
    weighted and scaled like the loss (as helpers.kd_rounding_tolerance for KD).
    """
    bins, temperature, total, bound = head.reg_max + 1, 10., 0., 0.
    for level, level_labels in enumerate(labels):
        pos = level_labels < head.num_classes
        if not pos.any():
            continue
        weight = rows(student[0][level], head.cls_out_channels).sigmoid().max(-1)[0]
        weight = weight.reshape(-1)[pos]
        s = rows(student[1][level], 4 * bins).reshape(-1, 4, bins)[pos] / temperature
        t = rows(teacher[1][level], 4 * bins).reshape(-1, 4, bins)[pos] / temperature
        p_t = t.softmax(-1)
        kl = (p_t * (p_t.log() - s.log_softmax(-1))).sum(-1) * temperature ** 2 / bins
        magnitude = (p_t * (p_t.log().abs() + s.log_softmax(-1).abs())).sum(-1)
        total += (weight[:, None] * kl).sum().item() / 4
        bound += (weight[:, None] * magnitude).sum().item() * temperature ** 2 / bins / 4
    return 0.25 * total, 0.25 * 8 * torch.finfo(torch.float32).eps * bound


def test_ld_matches_the_formula(shapes_data, tmp_path):
    config = FAMILIES['gfl']
    model, data = build_small(distillation_config(dict(cfg_path=config, **R18), config,
                                                  dict(ld=LD)), shapes_data, tmp_path)
    losses, student, teacher, labels, _, _ = run(model, data)
    head = model.student.bbox_head
    expected, tolerance = ld_reference(head, student, teacher, labels)
    assert expected > 50 * tolerance  # a wrong weight, T or normaliser is caught
    assert losses['distill_ld_loss'].item() == pytest.approx(expected, rel=0, abs=tolerance)
    losses['distill_ld_loss'].backward()
    assert head.gfl_reg.weight.grad.abs().sum() > 0
    # The edge weights are the student's detached scores: no gradient to the classifier.
    assert head.gfl_cls.weight.grad is None
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize('family, method', [('fcos', 'bckd'), ('gfl', 'ld')])
def test_dense_head_distillers_compose_with_a_feature_distiller(family, method, shapes_data,
                                                                tmp_path):
    """One training step of BCKD (FCOS) or LD (GFL) with PKD on the FPN: every loss,
    gradients to the student only, the teacher bit-identical."""
    config = FAMILIES[family]
    distillers = {method: BCKD if method == 'bckd' else LD,
                  'pkd': dict(type='PKD', student='neck', teacher='neck')}
    model, data = build_small(distillation_config(dict(cfg_path=config, **R18), config,
                                                  distillers), shapes_data, tmp_path)
    losses = train_one_step(model, data)
    assert set(losses) == {f'distill_{name}_{key}' for name in distillers
                           for key in model.distillers[name].loss_names()}
    assert len(losses) == (3 if method == 'bckd' else 2)
    assert all(v.item() > 0 for v in losses.values())


def test_dense_head_distillers_refuse_pairs_they_cannot_distil():
    small = {name: small_detector(detector_config(
        dict(cfg_path=FAMILIES[name], **R18) if name != 'faster' else
        'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'student'), 3)
        for name in ('retinanet', 'atss', 'gfl', 'faster')}

    def build(student, teacher, distiller):
        return MODELS.build(dict(type='mmkd.DistillationDetector', student=small[student],
                                 teacher=small[teacher], distillers=dict(d=distiller)))

    with pytest.raises(ValueError, match=r'student \(FasterRCNN\) is a two-stage detector.*'
                                         r'Shared2FCBBoxHead.*Use KD'):
        build('faster', 'faster', BCKD)
    with pytest.raises(ValueError, match=r"same priors: the student's RetinaHead: 5 levels.*"
                                         r'9 prior\(s\).*ATSSHead.*1 prior'):
        build('retinanet', 'atss', BCKD)
    with pytest.raises(ValueError, match=r"BCKD: the teacher's dense head \(ATSSHead\) "
                                         r'reads 5 levels.*gives 3'):
        build('atss', 'atss', dict(BCKD, teacher='backbone[1:]'))
    with pytest.raises(ValueError, match="remove 'student'"):
        build('atss', 'atss', dict(BCKD, student='neck'))
    with pytest.raises(ValueError, match='only GFL heads.*student has ATSSHead.*BCKD'):
        build('atss', 'gfl', LD)
    gfl8 = dict(small['gfl'], bbox_head=dict(small['gfl'].bbox_head, reg_max=8))
    small['gfl8'] = gfl8
    with pytest.raises(ValueError, match='reg_max 8 and the teacher 16'):
        build('gfl8', 'gfl', LD)
    with pytest.raises(ValueError, match='4 classes but the teacher has 3'):
        small['gfl4'] = dict(small['gfl'], bbox_head=dict(small['gfl'].bbox_head, num_classes=4))
        build('gfl4', 'gfl', BCKD)
