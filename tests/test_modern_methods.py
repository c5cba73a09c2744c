"""PKD, CWD, MGD and FGD: losses against references written from the formulas, the
distillers on real mmdet models (gradients, errors, reproducibility, export), the option
that starts student parts from the teacher, and every config trained for one step."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mmkd.config import build_detector
from mmkd.export import export_detector
from mmkd.models.distillers import CWD, FGD, MGD, PKD
from mmkd.models.distillers.fgd_masks import fgd_masks
from mmkd.models.layers import MGDGenerator
from mmkd.models.losses import ChannelWiseDivergenceLoss, FGDLoss, MGDLoss, PKDLoss
from mmkd.models.recorder import FeatureLevel
from mmkd.registry import MODELS
from mmkd.testing import small_run_config

from helpers import set_up

DEMO_METHODS = ('pkd', 'cwd', 'mgd', 'fgd')


def levels(*channels_strides):
    return [FeatureLevel(c, s, 'neck', i) for i, (c, s) in enumerate(channels_strides)]


# --------------------------------------------------------------------------- PKD
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


def test_pkd_pairs_levels_by_index_and_adapts_channels_only_where_needed():
    distiller = PKD('neck[:2]')
    set_up(distiller, levels((64, 8), (128, 16)), levels((128, 4), (128, 8)))
    assert isinstance(distiller.adapters[0], torch.nn.Conv2d)
    assert (distiller.adapters[0].in_channels, distiller.adapters[0].out_channels) == (64, 128)
    assert isinstance(distiller.adapters[1], torch.nn.Identity)  # as published: no adapter
    s = [torch.randn(2, 64, 4, 4), torch.randn(2, 128, 2, 2)]
    t = [torch.randn(2, 128, 8, 8), torch.randn(2, 128, 4, 4)]
    expected = PKDLoss(loss_weight=6.)([distiller.adapters[0](s[0]), s[1]], t)
    assert distiller(s, t, None)['loss'].item() == pytest.approx(expected.item(), rel=1e-6)


# --------------------------------------------------------------------------- CWD
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


# --------------------------------------------------------------------------- MGD
def test_mgd_with_a_fixed_mask_matches_the_formula():
    torch.manual_seed(3)
    generator = MGDGenerator(4, mask_ratio=0.5)
    feat, teacher = torch.randn(2, 4, 5, 6), torch.randn(2, 4, 5, 6)
    mask = (torch.rand(2, 1, 5, 6) > 0.5).float()
    conv1, conv2 = generator.generation[0], generator.generation[2]
    hidden = F.relu(F.conv2d(feat * mask, conv1.weight, conv1.bias, padding=1))
    expected_gen = F.conv2d(hidden, conv2.weight, conv2.bias, padding=1)
    generated = generator(feat, mask)
    torch.testing.assert_close(generated, expected_gen)
    expected = 2e-5 * sum(((generated[i] - teacher[i]) ** 2).sum() for i in range(2)) / 2
    assert MGDLoss()([generated], [teacher]).item() == pytest.approx(expected.item(), rel=1e-5)


def test_mgd_mask_drops_whole_positions_at_the_ratio_and_follows_the_seed():
    generator = MGDGenerator(3, mask_ratio=0.65)
    mask = generator.random_mask(torch.zeros(4, 3, 50, 50))
    assert mask.shape == (4, 1, 50, 50)  # one mask for all channels of a position
    assert 1 - mask.mean().item() == pytest.approx(0.65, abs=0.02)
    distiller = MGD('neck', mask_ratio=0.65)
    set_up(distiller, levels((8, 8), (8, 16)), levels((16, 8), (16, 16)))
    s = [torch.randn(2, 8, 6, 6), torch.randn(2, 8, 3, 3)]
    t = [torch.randn(2, 16, 6, 6), torch.randn(2, 16, 3, 3)]

    def loss(seed):
        torch.manual_seed(seed)
        return distiller(s, t, None)['loss'].item()
    assert loss(5) == loss(5)
    assert loss(5) != loss(6)


# --------------------------------------------------------------------------- FGD
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


# --------------------------------------------------------------------------- errors
def test_build_errors_name_the_problem():
    with pytest.raises(ValueError, match='adapter_kernel=None; set adapter_kernel=1'):
        set_up(PKD('neck', adapter_kernel=None), levels((64, 8)), levels((128, 8)))
    with pytest.raises(ValueError, match=r'pairs levels by index.*2 level\(s\)'):
        set_up(PKD('neck'), levels((8, 4), (8, 8)), levels((8, 4)))
    with pytest.raises(ValueError, match='outside them'):
        set_up(PKD('roi_head'), None, levels((8, 4)))
    for cls in (CWD, MGD, FGD):
        with pytest.raises(ValueError, match='Enable the adapter'):
            set_up(cls('neck', adapter_kernel=None), levels((64, 8)), levels((128, 8)))
        with pytest.raises(ValueError, match='different strides'):
            set_up(cls('neck'), levels((64, 8)), levels((64, 16)))
    with pytest.raises(ValueError, match='mask_ratio must be in'):
        MGD('neck', mask_ratio=1.)
    with pytest.raises(ValueError, match='tau must be > 0'):
        ChannelWiseDivergenceLoss(tau=0)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        FGDLoss(temperature=0)


# --------------------------------------------------------------------------- real models
def demo_config(configs_dir, method):
    return osp.join(configs_dir, 'demo', f'faster-rcnn_{method}.py')


@pytest.fixture(scope='module')
def all_methods_model(configs_dir, shapes_data, tmp_path_factory):
    """The demo pair (64-channel student, 128-channel teacher) with the four distillers."""
    cfg = Config.fromfile(demo_config(configs_dir, 'pkd'))
    for method in DEMO_METHODS[1:]:
        cfg.model.distillers.update(Config.fromfile(demo_config(configs_dir, method))
                                    .model.distillers)
    cfg = small_run_config(cfg, shapes_data, str(tmp_path_factory.mktemp('all')), max_iters=1)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    batch = runner.model.data_preprocessor(next(runner.train_loop.dataloader_iterator), True)
    return runner.model, batch


def test_gradients_reach_the_student_and_each_methods_modules_only(all_methods_model):
    model, batch = all_methods_model
    model.train()
    teacher_before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    fgd = model.distillers['fgd']
    for block in [*fgd.student_context, *fgd.teacher_context]:
        # the GcBlocks start as the identity (last conv 0), which blocks the gradient of
        # their other layers at the first step; move off it so every parameter is seen
        torch.nn.init.normal_(block.channel_add_conv[-1].weight, std=0.01)
    losses = model(**batch, mode='loss')
    assert all(not p.requires_grad for p in model.teacher.parameters())
    student_neck = [p for p in model.student.neck.parameters()]
    for name, distiller in model.distillers.items():
        total = sum(v for k, v in losses.items() if k.startswith(f'distill_{name}_'))
        assert torch.isfinite(total) and total.item() > 0, name
        own_names, own = zip(*distiller.named_parameters())
        grads = torch.autograd.grad(total, student_neck + list(own), retain_graph=True,
                                    allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(student_neck)]), name
        for param_name, grad in zip(own_names, grads[len(student_neck):]):
            assert grad is not None, f'{name}.{param_name}'
            # a GcBlock's attention logits go through a softmax over positions, which a
            # constant bias does not change: that bias gets a zero gradient by design
            assert grad.abs().sum() > 0 or param_name.endswith('conv_mask.bias'), \
                f'{name}.{param_name}'
        others = [p for other, d in model.distillers.items() if other != name
                  for p in d.parameters()]
        assert all(g is None for g in torch.autograd.grad(total, others, retain_graph=True,
                                                          allow_unused=True)), name
    counts = {name: sum(p.numel() for p in d.parameters()) for name, d in model.distillers.items()}
    assert counts['pkd'] == 4 * (64 * 128 + 128)  # 1x1 adapters of P2..P5 only
    assert len(fgd.student_context) == len(fgd.teacher_context) == 4  # both sides learn
    model.parse_losses(losses)[0].backward()  # the total the optimizer steps on
    assert all(p.grad is None for p in model.teacher.parameters())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key


def test_fgd_on_a_batch_without_ground_truth_boxes_fails_clearly(all_methods_model):
    model, batch = all_methods_model
    data_samples = [DetDataSample(metainfo=s.metainfo) for s in batch['data_samples']]
    student, teacher = [torch.randn(len(data_samples), 64, 8, 8)], \
        [torch.randn(len(data_samples), 128, 8, 8)]
    fgd = FGD('neck')
    set_up(fgd, levels((64, 16)), levels((128, 16)))
    with pytest.raises(ValueError, match='FGD needs ground-truth boxes'):
        fgd(student, teacher, data_samples)


def test_mgd_run_is_reproducible_and_its_generators_stay_out_of_the_export(
        configs_dir, shapes_data, tmp_path):
    def first_loss(seed, work_dir):
        cfg = small_run_config(demo_config(configs_dir, 'mgd'), shapes_data, work_dir,
                               max_iters=1, image_size=64)
        cfg.randomness = dict(seed=seed)
        runner = Runner.from_cfg(cfg)
        runner.train()
        return runner, runner.message_hub.get_scalar('train/distill_mgd_loss').current()
    runner, loss = first_loss(7, str(tmp_path / 'a'))
    assert first_loss(7, str(tmp_path / 'b'))[1] == loss  # another seed: see the mask test
    checkpoint = osp.join(str(tmp_path / 'a'), 'iter_1.pth')
    weights, _ = export_detector(demo_config(configs_dir, 'mgd'), checkpoint,
                                 str(tmp_path / 'export'))
    exported = torch.load(weights, map_location='cpu')['state_dict']
    assert set(exported) == set(runner.model.student.state_dict())
    assert not any('generation' in key or 'distillers' in key for key in exported)


# --------------------------------------------------------------------------- init from teacher
def test_init_student_from_teacher_copies_parts_and_survives_init_weights(configs_dir, tmp_path):
    teacher_cfg = Config.fromfile(osp.join(configs_dir, 'demo', 'faster-rcnn_teacher.py')).model
    student_cfg = teacher_cfg.deepcopy()
    student_cfg.backbone.depth = 18  # same widths, so neck and heads have the same shapes
    teacher = build_detector(teacher_cfg, 'teacher')
    teacher.init_weights()
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    parts = ('neck', 'rpn_head', 'roi_head')
    model = MODELS.build(dict(type='DistillationDetector', student=student_cfg,
                              teacher=teacher_cfg, teacher_ckpt=ckpt,
                              init_student_from_teacher=parts,
                              distillers=dict(pkd=dict(type='PKD'))))
    model.init_weights()  # what the Runner does: the copies must survive it
    for part in parts:
        student_state = model.student.get_submodule(part).state_dict()
        for key, value in teacher.get_submodule(part).state_dict().items():
            assert torch.equal(student_state[key], value), f'{part}.{key}'
    assert not torch.equal(model.student.backbone.conv1.weight, teacher.backbone.conv1.weight)
    default = MODELS.build(dict(type='DistillationDetector', student=student_cfg,
                                teacher=teacher_cfg, teacher_ckpt=ckpt,
                                distillers=dict(pkd=dict(type='PKD'))))
    default.init_weights()  # off by default
    assert not torch.equal(default.student.neck.fpn_convs[0].conv.weight,
                           teacher.neck.fpn_convs[0].conv.weight)

    small_student = Config.fromfile(osp.join(configs_dir, 'demo',
                                             'faster-rcnn_student.py')).model
    with pytest.raises(ValueError, match=r"'neck\.lateral_convs\.0\.conv\.weight' is "
                                         r'\(64, 16, 1, 1\) in the student but '
                                         r'\(128, 32, 1, 1\) in the teacher'):
        MODELS.build(dict(type='DistillationDetector', student=small_student,
                          teacher=teacher_cfg, init_student_from_teacher=['neck'],
                          distillers=dict(pkd=dict(type='PKD'))))
    with pytest.raises(ValueError, match="has no submodule 'bbox_head'"):
        MODELS.build(dict(type='DistillationDetector', student=student_cfg,
                          teacher=teacher_cfg, init_student_from_teacher=['bbox_head'],
                          distillers=dict(pkd=dict(type='PKD'))))


# --------------------------------------------------------------------------- configs
# config: (distiller type, teacher config, teacher AP in mmdet's metafile, init from teacher)
CONFIGS = {
    'pkd/faster-rcnn_r101-r50_fpn_2x_coco': ('PKD', 'faster-rcnn_r101_fpn_2x_coco', ()),
    'pkd/retinanet_x101-r50_fpn_2x_coco': ('PKD', 'retinanet_x101-64x4d_fpn_1x_coco', ()),
    'pkd/faster-rcnn_r101-r18_fpn_1x_coco': ('PKD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'cwd/retinanet_r101-r50_fpn_1x_coco': ('CWD', 'retinanet_r101_fpn_2x_coco', ()),
    'cwd/faster-rcnn_r101-r50_fpn_1x_coco': ('CWD', 'faster-rcnn_r101_fpn_2x_coco', ()),
    'cwd/faster-rcnn_r101-r18_fpn_1x_coco': ('CWD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'mgd/retinanet_x101-r50_fpn_2x_coco': ('MGD', 'retinanet_x101-64x4d_fpn_1x_coco',
                                           ('neck', 'bbox_head')),
    'mgd/faster-rcnn_r101-r18_fpn_1x_coco': ('MGD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
    'fgd/retinanet_x101-r50_fpn_2x_coco': ('FGD', 'retinanet_x101-64x4d_fpn_1x_coco',
                                           ('neck', 'bbox_head')),
    'fgd/faster-rcnn_r101-r50_fpn_2x_coco': ('FGD', 'faster-rcnn_r101_fpn_2x_coco',
                                             ('neck', 'rpn_head', 'roi_head')),
    'fgd/faster-rcnn_r101-r18_fpn_1x_coco': ('FGD', 'faster-rcnn_r101_fpn_ms-3x_coco', ()),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_points_at_the_published_setting(configs_dir, name):
    kind, teacher, parts = CONFIGS[name]
    cfg = Config.fromfile(osp.join(configs_dir, name + '.py'))
    (distiller, ), = [list(cfg.model.distillers.values())]
    assert distiller.type == kind
    assert cfg.model.teacher.endswith(teacher + '.py')
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/v2.0/')
    assert tuple(cfg.model.get('init_student_from_teacher', ())) == parts
    student = cfg.model.student
    assert ('retinanet' in name) == (student.type == 'RetinaNet')
    assert student.backbone.depth == (18 if 'r18' in name else 50)
    schedule = 24 if '_2x_' in name else 12
    assert cfg.train_cfg.max_epochs == schedule


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_trains_one_step(configs_dir, shapes_data, tmp_path, name):
    cfg = small_run_config(osp.join(configs_dir, name + '.py'), shapes_data, str(tmp_path),
                           max_iters=1, image_size=64)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('train/distill_')}
    assert logged and all(math.isfinite(v) and v > 0 for v in logged.values()), logged


def test_demo_configs_name_their_method_and_work_dir(configs_dir):
    # (all four are built and run together by the all_methods_model fixture)
    for method in DEMO_METHODS:
        cfg = Config.fromfile(demo_config(configs_dir, method))
        assert list(cfg.model.distillers) == [method]
        assert cfg.work_dir == f'work_dirs/demo/faster-rcnn_{method}'
