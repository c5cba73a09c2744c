"""CrossKD: every term against a float64 hand computation on tiny real mmdet heads, the
gradient paths, the hooks' lifetime, the channel adapter and the build errors."""
import math

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torch import nn

from mmkd.config import detector_config
from mmkd.models.distillation_detector import DistillationDetector
from mmkd.models.distillers import CrossKD
from mmkd.models.distillers.crosskd import match_statistics
from mmkd.testing import small_model, small_run_config

from helpers import FAMILIES, R18, levels, one_batch, set_up, train_one_step

IMAGE = 64
STRIDES = (8, 16, 32, 64, 128)
CHANNELS = 8  # FPN width of the tiny heads
CLASSES = 3
EPS = 1e-6  # CrossKD's standardisation eps and mmdet's IoU eps
# mmdet's weight_reduce_loss divides by avg_factor + float32 eps (every mmdet-style loss).
AVG_EPS = torch.finfo(torch.float32).eps


# ------------------------------------------------------------------ tiny detectors
class HeadOnly(nn.Module):
    """Stands in for a detector where CrossKD reads only its ``bbox_head``."""

    def __init__(self, head):
        super().__init__()
        self.bbox_head = head


def tiny_head(family, feat_channels=CHANNELS, stacked_convs=2, seed=0, **changes):
    """``family``'s mmdet head (its train_cfg) at 8 channels, 3 classes, float64, with
    weights drawn large enough that every layer shapes the result."""
    init_default_scope('mmdet')
    model = detector_config(FAMILIES[family], 'student')
    cfg = dict(model.bbox_head, in_channels=CHANNELS, feat_channels=feat_channels,
               stacked_convs=stacked_convs, num_classes=CLASSES,
               train_cfg=model.get('train_cfg'), test_cfg=model.test_cfg)
    if family != 'retinanet':
        cfg['norm_cfg'] = dict(type='GN', num_groups=4, requires_grad=True)
    cfg.update(changes)
    head = MMDET_MODELS.build(cfg)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in head.named_parameters():
            param.copy_(0.3 * torch.randn(param.shape, generator=generator))
            if name.startswith('scales.'):
                param.copy_(0.5 + torch.rand(param.shape, generator=generator))
    return head.double()


def frozen(head):
    head.requires_grad_(False)
    return head.eval()


def crosskd(student_head, teacher_head, **cfg):
    distiller = CrossKD(**cfg)
    teacher_levels = levels(*[(CHANNELS, s) for s in STRIDES])
    return set_up(distiller, None, teacher_levels, HeadOnly(student_head),
                  HeadOnly(teacher_head))


def samples():
    """A 64 x 64 image with two boxes and a 40 x 64 one (padded to 64 x 64 in the batch, so
    the anchors below row 40 get label weight 0) with one box."""
    boxes = ([[4., 6., 40., 50.], [30., 20., 62., 44.]], [[10., 12., 34., 30.]])
    labels = ([1, 2], [0])
    shapes = ((IMAGE, IMAGE), (40, IMAGE))
    out = []
    for image_boxes, image_labels, shape in zip(boxes, labels, shapes):
        sample = DetDataSample(metainfo=dict(img_shape=shape, pad_shape=shape,
                                             batch_input_shape=(IMAGE, IMAGE),
                                             scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(image_boxes),
                                           labels=torch.tensor(image_labels))
        out.append(sample)
    return out


def features(seed, channels=CHANNELS):
    generator = torch.Generator().manual_seed(seed)
    sizes = [max(IMAGE // stride, 1) for stride in STRIDES]
    return [torch.randn(2, channels, size, size, generator=generator, dtype=torch.float64)
            for size in sizes]


# ------------------------------------------------------------------ hand computation
def group_norm(x, module):
    n, c, h, w = x.shape
    groups = x.reshape(n, module.num_groups, -1)
    mean = groups.mean(-1, keepdim=True)
    var = ((groups - mean) ** 2).mean(-1, keepdim=True)
    y = ((groups - mean) / torch.sqrt(var + module.eps)).reshape(n, c, h, w)
    return y * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)


def conv(x, layer):
    return torch.nn.functional.conv2d(x, layer.weight, layer.bias, padding=layer.padding)


def conv_module(x, module, activate=True):
    y = conv(x, module.conv)
    if module.with_norm:
        y = group_norm(y, module.norm)
    return y.clamp(min=0) if activate else y


def to_cross_point(head, branch, x, k):
    convs = getattr(head, f'{branch}_convs')
    for j in range(k - 1):
        x = conv_module(x, convs[j])
    return conv_module(x, convs[k - 1], activate=False)


def from_cross_point(head, branch, y, k):
    x = y.clamp(min=0)
    for module in list(getattr(head, f'{branch}_convs'))[k:]:
        x = conv_module(x, module)
    return x


def statistics(x):
    """Per-channel mean and unbiased std over (N, H, W), as python floats."""
    values = x.detach().permute(1, 0, 2, 3).reshape(x.shape[1], -1).tolist()
    means = [sum(v) / len(v) for v in values]
    stds = [math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1)) for v, m in zip(values, means)]
    return means, stds


def standardised(student, teacher):
    (s_mean, s_std), (t_mean, t_std) = statistics(student), statistics(teacher)
    view = (lambda values: torch.tensor(values, dtype=torch.float64).view(1, -1, 1, 1))
    return (student - view(s_mean)) / (view(s_std) + EPS) * view(t_std) + view(t_mean)


def predictors(family, head, cls_feat, reg_feat, level):
    """(scores, boxes, centerness or None) of one level from the branch features."""
    if family == 'retinanet':
        return conv(cls_feat, head.retina_cls), conv(reg_feat, head.retina_reg), None
    # ATSS, GFL and FCOS round their scaled box outputs to float32 (`.float()`, meant
    # against fp16 overflow), also in a float64 model.
    scaled_box = (conv(reg_feat, head.conv_reg if family == 'fcos' else getattr(
        head, f'{family}_reg')) * head.scales[level].scale).float().double()
    if family == 'gfl':
        return conv(cls_feat, head.gfl_cls), scaled_box, None
    if family == 'atss':
        return (conv(cls_feat, head.atss_cls), scaled_box,
                conv(reg_feat, head.atss_centerness))
    distances = scaled_box  # FCOS with norm_on_bbox, in eval mode
    return (conv(cls_feat, head.conv_cls), distances.clamp(min=0) * STRIDES[level],
            conv(reg_feat if head.centerness_on_reg else cls_feat, head.conv_centerness))


def hand_outputs(family, student_head, teacher_head, student_feats, teacher_feats, k):
    """Cross-head and teacher predictions per level, written out layer by layer."""
    cross, teacher = [], []
    for level, (xs, xt) in enumerate(zip(student_feats, teacher_feats)):
        branch = {}
        for name in ('cls', 'reg'):
            t_point = to_cross_point(teacher_head, name, xt, k)
            s_point = to_cross_point(student_head, name, xs, k)
            branch[name] = (from_cross_point(teacher_head, name, standardised(s_point, t_point),
                                             k),
                            from_cross_point(teacher_head, name, t_point, k))
        cross.append(predictors(family, teacher_head, branch['cls'][0], branch['reg'][0], level))
        teacher.append(predictors(family, teacher_head, branch['cls'][1], branch['reg'][1],
                                  level))
    return cross, teacher


def rows(maps, width):
    """(N, A * width, H, W) per level -> (N * priors, width), image-major."""
    return torch.cat([m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, width) for m in maps],
                     1).reshape(-1, width)


def mmdet_targets(family, head, data_samples):
    """labels, label weights, priors and bbox targets straight from mmdet's get_targets."""
    sizes = [(max(IMAGE // s, 1), ) * 2 for s in STRIDES]
    gts = [s.gt_instances for s in data_samples]
    metas = [s.metainfo for s in data_samples]
    if family == 'fcos':
        points = head.prior_generator.grid_priors(sizes, dtype=torch.float64, device='cpu')
        labels, bbox_targets = head.get_targets(points, gts)
        labels = torch.cat([lv.view(2, -1) for lv in labels], 1).reshape(-1)
        bbox_targets = torch.cat([lv.view(2, -1, 4) for lv in bbox_targets], 1).reshape(-1, 4)
        return dict(labels=labels, label_weights=torch.ones_like(labels, dtype=torch.float64),
                    priors=torch.cat(points).repeat(2, 1), bbox_targets=bbox_targets)
    anchors, valid = head.get_anchors(sizes, metas, device='cpu')
    priors = torch.cat([torch.cat(image) for image in anchors]).double()
    targets = head.get_targets(anchors, valid, gts, metas)  # ATSS concatenates in place
    if family == 'retinanet':
        labels, label_weights = targets[0], targets[1]
    else:
        labels, label_weights = targets[1], targets[2]
    return dict(labels=torch.cat(labels, 1).reshape(-1),
                label_weights=torch.cat(label_weights, 1).reshape(-1).double(),
                priors=priors)


def decode_deltas(anchors, deltas, stds):
    px, py = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
    pw, ph = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    dx, dy, dw, dh = (deltas[:, i] * stds[i] for i in range(4))
    limit = abs(math.log(16 / 1000))
    dw, dh = dw.clamp(-limit, limit), dh.clamp(-limit, limit)
    cx, cy, w, h = px + pw * dx, py + ph * dy, pw * dw.exp(), ph * dh.exp()
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


def iou_and_giou(a, b):
    wh = (torch.min(a[:, 2:], b[:, 2:]) - torch.max(a[:, :2], b[:, :2])).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    area = (lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1]))
    union = (area(a) + area(b) - overlap).clamp(min=EPS)
    iou = overlap / union
    enclose_wh = (torch.max(a[:, 2:], b[:, 2:]) - torch.min(a[:, :2], b[:, :2])).clamp(min=0)
    enclose = (enclose_wh[:, 0] * enclose_wh[:, 1]).clamp(min=EPS)
    return iou, iou - (enclose - union) / enclose


def bce(logit, p):
    """Binary cross-entropy of sigmoid(logit) against probability p, elementwise:
    -p log q - (1 - p) log(1 - q) with log q = -log(1 + e^-x), log(1 - q) = -x + log q,
    written as max(x, 0) - x p + log(1 + e^-|x|) so that 1 - q never cancels."""
    return logit.clamp(min=0) - logit * p + torch.log1p(torch.exp(-logit.abs()))


def hand_losses(family, teacher_head, cross, teacher, targets):
    sig = (lambda x: 1 / (1 + torch.exp(-x)))
    labels, label_weights = targets['labels'], targets['label_weights']
    positives = (labels >= 0) & (labels < CLASSES)
    num_pos = max(float(positives.sum()), 1.)
    s_cls = rows([c[0] for c in cross], CLASSES)
    t_cls = rows([t[0] for t in teacher], CLASSES)
    if family == 'fcos':
        d = targets['bbox_targets'][positives]
        centerness = torch.sqrt((torch.min(d[:, 0], d[:, 2]) / torch.max(d[:, 0], d[:, 2]))
                                * (torch.min(d[:, 1], d[:, 3]) / torch.max(d[:, 1], d[:, 3])))
        normaliser, cls_weight = max(float(centerness.sum()), 1e-6), 0.4
    else:
        normaliser, cls_weight = num_pos, 1.0
    per_row = (bce(s_cls, sig(t_cls)) * (sig(s_cls) - sig(t_cls)).abs()).sum(1)
    losses = dict(loss_cls=cls_weight * (per_row * label_weights).sum() / (normaliser + AVG_EPS))

    weight = sig(t_cls).max(1).values * (label_weights > 0)
    if family == 'gfl':
        bins = teacher_head.reg_max + 1
        s_bins, t_bins = (rows([o[1] for o in outs], bins) for outs in (cross, teacher))
        log_ps = s_bins - torch.log(torch.exp(s_bins).sum(1, keepdim=True))
        log_pt = t_bins - torch.log(torch.exp(t_bins).sum(1, keepdim=True))
        kl = (log_pt.exp() * (log_pt - log_ps)).sum(1).view(-1, 4)
        losses['loss_box'] = 4.0 * (kl * weight[:, None]).sum() / (4 * weight.sum() + AVG_EPS)
        return losses
    s_box, t_box = (rows([o[1] for o in outs], 4) for outs in (cross, teacher))
    priors = targets['priors']
    if family == 'fcos':
        decode = (lambda d: torch.cat([priors - d[:, :2], priors + d[:, 2:]], 1))
        iou, _ = iou_and_giou(decode(s_box), decode(t_box))
        log_iou = -iou.clamp(min=EPS).log()
        losses['loss_box'] = 0.75 * (log_iou * weight).sum() / (normaliser + AVG_EPS)
        return losses
    stds = teacher_head.bbox_coder.stds
    _, giou = iou_and_giou(decode_deltas(priors, s_box, stds), decode_deltas(priors, t_box, stds))
    losses['loss_box'] = ((1 - giou) * weight).sum() / (num_pos + AVG_EPS)
    if family == 'atss':
        s_ctr, t_ctr = (rows([o[2] for o in outs], 1)[:, 0] for outs in (cross, teacher))
        losses['loss_centerness'] = (bce(s_ctr, sig(t_ctr)) * positives).sum() / (num_pos + AVG_EPS)
    return losses


# ------------------------------------------------------------------ tests
def test_match_statistics_against_python_statistics():
    generator = torch.Generator().manual_seed(3)
    student = torch.randn(2, 3, 4, 5, generator=generator, dtype=torch.float64) * 3 + 1
    teacher = torch.randn(2, 3, 4, 5, generator=generator, dtype=torch.float64) * 0.5 - 2
    out = match_statistics(student, teacher)
    torch.testing.assert_close(out, standardised(student, teacher), rtol=1e-12, atol=1e-12)
    # The result has the teacher's statistics (up to the eps in the student's std).
    (o_mean, o_std), (t_mean, t_std) = statistics(out), statistics(teacher)
    assert o_mean == pytest.approx(t_mean, abs=1e-9)
    assert o_std == pytest.approx(t_std, rel=1e-5)
    # A single value per channel has std 0, not NaN, and so has its gradient (which the
    # square root of a zero variance made NaN).
    single = student[:1, :, :1, :1].clone().requires_grad_()
    out = match_statistics(single, teacher[:1, :, :1, :1])
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(single.grad).all()
    constant = torch.ones(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    match_statistics(constant, teacher[:, :, :2, :2]).sum().backward()
    assert torch.isfinite(constant.grad).all()


@pytest.mark.parametrize('family', ['retinanet', 'atss', 'gfl', 'fcos'])
def test_crosskd_matches_a_hand_computation(family):
    """Cross forward through the teacher's remaining layers, standardisation, every loss
    term and its normaliser, in float64 (code under test also in float64: only the
    summation order differs)."""
    changes = dict(norm_on_bbox=True, centerness_on_reg=True) if family == 'fcos' else {}
    student_head = tiny_head(family, seed=1, **changes)
    teacher_head = frozen(tiny_head(family, seed=2, **changes))
    distiller = crosskd(student_head, teacher_head, student_convs=1)
    student_feats, teacher_feats = features(10), features(11)
    data_samples = samples()
    student_head.train()
    student_head(student_feats)
    losses = distiller([], teacher_feats, data_samples)

    expected_names = {'loss_cls', 'loss_box'} | ({'loss_centerness'} if family == 'atss'
                                                 else set())
    assert set(losses) == expected_names == set(distiller.loss_names())
    cross, teacher = hand_outputs(family, student_head, teacher_head, student_feats,
                                  teacher_feats, 1)
    targets = mmdet_targets(family, student_head, data_samples)
    assert ((targets['labels'] >= 0) & (targets['labels'] < CLASSES)).sum() > 0
    # Label weights that matter: 0 on the padding of the second image (anchor heads).
    assert (targets['label_weights'] == 0).any() == (family != 'fcos')
    expected = hand_losses(family, teacher_head, cross, teacher, targets)
    for name, value in expected.items():
        # ATSS, GFL and FCOS give float32 box outputs even in a float64 model, so their
        # box terms are computed (decoded, or GFL's log-softmax) in float32: a few float32
        # roundings (eps 1.2e-7) per value. All other terms are float64 throughout.
        rel = 1e-6 if name == 'loss_box' and family != 'retinanet' else 1e-9
        assert losses[name].item() == pytest.approx(value.item(), rel=rel), name
        assert losses[name].item() > 0, name


def test_crosskd_cross_outputs_by_hand_after_two_of_three_convs():
    """The cross point after conv 2 of 3: the teacher's conv 3 and predictors continue."""
    student_head = tiny_head('gfl', stacked_convs=3, seed=4)
    teacher_head = frozen(tiny_head('gfl', stacked_convs=3, seed=5))
    distiller = crosskd(student_head, teacher_head, student_convs=2)
    student_feats, teacher_feats = features(12), features(13)
    student_head.train()
    student_head(student_feats)
    cross, teacher = distiller.cross_forward(teacher_feats)
    hand_cross, hand_teacher = hand_outputs('gfl', student_head, teacher_head, student_feats,
                                            teacher_feats, 2)
    for level in range(len(STRIDES)):
        for kind in range(2):
            # (GFL's box outputs are float32: see predictors)
            torch.testing.assert_close(cross[kind][level].double(), hand_cross[level][kind],
                                       rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(teacher[kind][level].double(), hand_teacher[level][kind],
                                       rtol=1e-10, atol=1e-12)
    assert not any(t.requires_grad for kind in teacher for t in kind)


def test_crosskd_gradient_paths():
    """The KD losses reach the student's convs up to the cross point, through the frozen
    teacher layers, and nothing after it nor any teacher parameter."""
    student_head = tiny_head('atss', stacked_convs=3, seed=6)
    teacher_head = frozen(tiny_head('atss', stacked_convs=3, seed=7))
    distiller = crosskd(student_head, teacher_head, student_convs=2)
    student_feats = [f.requires_grad_() for f in features(14)]
    student_head.train()
    student_head(student_feats)
    losses = distiller([], features(15), samples())
    sum(losses.values()).backward()
    for branch in ('cls', 'reg'):
        convs = getattr(student_head, f'{branch}_convs')
        for module in convs[:2]:
            assert module.conv.weight.grad.abs().sum() > 0
        assert all(p.grad is None for p in convs[2].parameters())
    assert all(p.grad is None for p in student_head.atss_cls.parameters())
    assert all(f.grad.abs().sum() > 0 for f in student_feats)
    assert all(p.grad is None for p in teacher_head.parameters())


def test_crosskd_hooks_capture_only_training_forwards():
    student_head = tiny_head('gfl', seed=8)
    teacher_head = frozen(tiny_head('gfl', seed=9))
    distiller = crosskd(student_head, teacher_head, student_convs=1)
    captured = distiller.student_features
    student_head.eval()
    with torch.no_grad():
        student_head(features(16))
    student_head.train()
    with torch.no_grad():
        student_head(features(16))
    assert captured.features == {'cls': [], 'reg': []}
    student_head(features(16))
    assert [len(v) for v in captured.features.values()] == [len(STRIDES)] * 2
    # A later forward replaces, never accumulates.
    student_head(features(17))
    assert [len(v) for v in captured.features.values()] == [len(STRIDES)] * 2
    distiller([], features(18), samples())
    assert captured.features == {'cls': [], 'reg': []}
    # Without a training forward there is nothing to distil: a clear error.
    with pytest.raises(RuntimeError, match='training mode with gradients'):
        distiller([], features(18), samples())
    # The teacher head's own forward is untouched outside the distiller.
    with torch.no_grad():
        assert teacher_head(features(18))[0][0].shape[0] == 2
    student_head(features(16))
    distiller.zero_losses()
    assert captured.features == {'cls': [], 'reg': []}
    distiller.remove_hooks()
    student_head(features(16))
    assert captured.features == {'cls': [], 'reg': []}


def test_crosskd_channel_adapter():
    student_head = tiny_head('retinanet', feat_channels=4, seed=10)
    teacher_head = frozen(tiny_head('retinanet', seed=11))
    with pytest.raises(ValueError, match='4 channels and the teacher.s 8; set channel_adapter'):
        crosskd(student_head, teacher_head, student_convs=1)
    distiller = crosskd(student_head, teacher_head, student_convs=1, channel_adapter=True)
    distiller.double()
    assert {b: tuple(m.weight.shape) for b, m in distiller.adapter.items()} == {
        'cls': (8, 4, 1, 1), 'reg': (8, 4, 1, 1)}
    student_head.train()
    student_head(features(19))
    losses = distiller([], features(20), samples())
    sum(losses.values()).backward()
    assert all(m.weight.grad.abs().sum() > 0 for m in distiller.adapter.values())
    assert student_head.cls_convs[0].conv.weight.grad.abs().sum() > 0


def test_crosskd_build_errors():
    atss = tiny_head('atss')
    teacher = frozen(tiny_head('atss'))
    mismatches = {
        'head type: student GFLHead, teacher ATSSHead': tiny_head('gfl'),
        'cls stacked convs: student 3, teacher 2': tiny_head('atss', stacked_convs=3),
        'classes: student 4, teacher 3': tiny_head('atss', num_classes=4),
        'prior boxes': tiny_head('atss', anchor_generator=dict(
            type='AnchorGenerator', ratios=[1.0], octave_base_scale=6,
            scales_per_octave=1, strides=list(STRIDES))),
        r'priors \(levels, priors per location\)': tiny_head('atss', anchor_generator=dict(
            type='AnchorGenerator', ratios=[0.5, 1.0], octave_base_scale=8,
            scales_per_octave=1, strides=list(STRIDES))),
    }
    for message, student_head in mismatches.items():
        with pytest.raises(ValueError, match=message):
            crosskd(student_head, teacher)
    with pytest.raises(ValueError, match='student_convs=3 but the heads have 2'):
        crosskd(atss, teacher, student_convs=3)
    with pytest.raises(ValueError, match='student_convs must be an int >= 1'):
        CrossKD(student_convs=0)
    with pytest.raises(ValueError, match="remove 'student'"):
        CrossKD(student='neck')
    with pytest.raises(ValueError, match='loss_centerness is for ATSS'):
        crosskd(tiny_head('gfl'), frozen(tiny_head('gfl')), student_convs=1,
                loss_centerness=dict(type='BinaryKDLoss'))
    with pytest.raises(ValueError, match='needs a frozen teacher'):
        crosskd(atss, tiny_head('atss'), student_convs=1)
    tood = MMDET_MODELS.build(dict(type='TOODHead', num_classes=3, in_channels=8,
                                   feat_channels=8, stacked_convs=2,
                                   norm_cfg=dict(type='GN', num_groups=4), anchor_generator=dict(
                                       type='AnchorGenerator', ratios=[1.0],
                                       octave_base_scale=8, scales_per_octave=1,
                                       strides=list(STRIDES))))
    with pytest.raises(ValueError, match='supports RetinaHead, ATSSHead, GFLHead, FCOSHead'):
        crosskd(tood, frozen(tood), student_convs=1)
    distiller = CrossKD(teacher='neck[1:]', student_convs=1)
    with pytest.raises(ValueError, match="Use teacher='neck'"):
        set_up(distiller, None, levels(*[(CHANNELS, s) for s in STRIDES[1:]]),
               HeadOnly(atss), HeadOnly(teacher))


def test_crosskd_trains_a_detector_pair(shapes_data, tmp_path):
    """One SGD step of a small ATSS pair in DistillationDetector: the student (backbone,
    neck, head convs before the cross point) learns, the teacher stays bit-identical, and
    predict captures nothing."""
    atss = detector_config(FAMILIES['atss'], 'student')
    atss.update(R18)
    cfg = small_model(dict(type='mmkd.DistillationDetector', student=atss, teacher=atss,
                           distillers=dict(crosskd=dict(type='CrossKD', student_convs=1))), 3)
    for detector in (cfg.student, cfg.teacher):  # a teacher conv after the cross point
        detector.bbox_head.stacked_convs = 2
    cfg.pop('type')
    model = DistillationDetector(**cfg)
    assert len(model.teacher.bbox_head.cls_convs) == 2
    model.train()
    cfg = small_run_config(FAMILIES['atss'], shapes_data, str(tmp_path), image_size=IMAGE)
    data = one_batch(model, cfg)
    distill = train_one_step(model, data)
    assert set(distill) == {'distill_crosskd_loss_cls', 'distill_crosskd_loss_box',
                            'distill_crosskd_loss_centerness'}
    captured = model.distillers.crosskd.student_features
    assert captured.features == {'cls': [], 'reg': []}
    model.eval()
    with torch.no_grad():
        model(**data, mode='predict')
    assert captured.features == {'cls': [], 'reg': []}
