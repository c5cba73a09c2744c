"""Distillation on every mmdet detector family: one-stage anchor-based (RetinaNet, ATSS, GFL),
anchor-free (FCOS, RTMDet), Cascade R-CNN, heterogeneous pairs (stride pairing, mmpretrain
teachers), FGFI on one-stage heads, dense and cascade KD, and the configs of these pairs."""
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mmkd.config import build_detector, detector_config
from mmkd.models import connect_distillers
from mmkd.models.distillers.imitation_anchors import ImitationAnchors
from mmkd.models.level_pairing import pair_levels_by_stride
from mmkd.models.recorder import FeatureLevel, FeatureSpec
from mmkd.registry import MODELS
from mmkd.testing import small_detector, small_run_config

from helpers import kd_rounding_tolerance, manual_kd, set_up

IMAGE_SIZE = 64
R18 = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
ALL_METHODS = dict(
    reviewkd=dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=64),
    fitnet=dict(type='FitNet', student='neck', teacher='neck'),
    fgfi=dict(type='FGFI', student='neck', teacher='neck', warmup_iters=0),
    kd=dict(type='KD', teacher='neck'),
    pkd=dict(type='PKD', student='neck', teacher='neck'),
    cwd=dict(type='CWD', student='neck', teacher='neck'),
    mgd=dict(type='MGD', student='neck', teacher='neck'),
    fgd=dict(type='FGD', student='neck', teacher='neck'))
# family: (student, teacher); ResNet students are the teacher's config with a ResNet-18.
FAMILIES = {
    'retinanet': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'atss': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'gfl': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'fcos': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'rtmdet': ('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
               'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'),
    'cascade-rcnn': 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
}
CONFIGS = ['reviewkd/retinanet_r101-r18_fpn_1x_coco.py', 'fgfi/retinanet_r101-r18_fpn_1x_coco.py',
           'fitnet/retinanet_r101-r18_fpn_1x_coco.py', 'kd/retinanet_r101-r18_fpn_1x_coco.py',
           'reviewkd/retinanet_x101-r50_fpn_2x_coco.py',
           'fitnet/fcos-x101_retinanet-r50_fpn_1x_coco.py', 'kd/gfl_r101-r50_fpn_1x_coco.py',
           'fgfi/rtmdet_s-tiny_8xb32-300e_coco.py', 'kd/cascade-rcnn_r101-r50_fpn_1x_coco.py',
           'reviewkd/mask-rcnn-convnext-t_retinanet-r50_fpn_1x_coco.py']


def distillation_config(student, teacher, distillers) -> Config:
    return Config(dict(model=dict(type='mmkd.DistillationDetector', student=student,
                                  teacher=teacher, distillers=distillers),
                       default_hooks=dict()))


def build_small(config, data, tmp_path):
    """Model and one preprocessed training batch of ``config`` shrunk for the CPU."""
    init_default_scope('mmdet')
    cfg = small_run_config(config, data, str(tmp_path), image_size=IMAGE_SIZE)
    for distiller in cfg.model.distillers.values():
        distiller.warmup_iters = 0  # the one step trains every loss (FGFI waits 400)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    model.train()
    return model, model.data_preprocessor(batch, True)


def train_one_step(model, data):
    """One SGD step; checks the gradients reach the student and every distiller with
    parameters, never the teacher, whose weights stay bit-identical."""
    teacher_state = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    losses = model(**data, mode='loss')
    distill = {k: v for k, v in losses.items() if k.startswith('distill_')}
    assert distill and all(torch.isfinite(v) for v in distill.values())
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for v in losses.values())
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    optimizer.zero_grad()
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert not any(p.requires_grad for p in model.teacher.parameters())
    for part in (model.student.backbone, model.student.neck):
        assert sum(p.grad.abs().sum() for p in part.parameters() if p.grad is not None) > 0
    for name, distiller in model.distillers.items():
        params = list(distiller.parameters())
        if params:
            assert sum(p.grad.abs().sum() for p in params if p.grad is not None) > 0, name
    optimizer.step()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_state[key]), key
    return distill


# ------------------------------------------------------------- family x method
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_every_method_trains_on_every_family(family, shapes_data, tmp_path):
    """Every method together on one pair of the family: one build, one step, a loss from
    each and gradients where they belong."""
    pair = FAMILIES[family]
    if isinstance(pair, str):
        pair = (dict(cfg_path=pair, **R18), pair)
    model, data = build_small(distillation_config(*pair, ALL_METHODS), shapes_data, tmp_path)
    kd = model.distillers['kd']
    assert kd.kind == ('cascade' if family == 'cascade-rcnn' else 'dense')
    assert model.distillers['fgfi']._anchors.points[0] == (family in ('fcos', 'rtmdet'))
    losses = train_one_step(model, data)
    assert set(losses) == {f'distill_{name}_{key}' for name in ALL_METHODS
                           for key in model.distillers[name].loss_names()}


@pytest.mark.parametrize('config', CONFIGS)
def test_family_config_trains_one_step(config, configs_dir, shapes_data, tmp_path):
    model, data = build_small(osp.join(configs_dir, config), shapes_data, tmp_path)
    train_one_step(model, data)
    if 'convnext' in config:  # the mmpretrain backbone from the teacher's custom_imports
        assert type(model.teacher.backbone).__module__.startswith('mmpretrain.')


def test_family_configs_point_at_zoo_teachers(configs_dir):
    for config in CONFIGS:
        model = Config.fromfile(osp.join(configs_dir, config)).model
        assert model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/')
        assert model.teacher.startswith('mmdet::')


# ------------------------------------------------------------ stride pairing
def levels(spec, strides, channels=256):
    return [FeatureLevel(channels, stride, spec, i) for i, stride in enumerate(strides)]


class Specs:
    def __init__(self, student, teacher):
        self.student_specs = [FeatureSpec.parse(student)]
        self.teacher_specs = [FeatureSpec.parse(teacher)]


def pair(specs, student_levels, teacher_levels):
    return pair_levels_by_stride(specs.student_specs, specs.teacher_specs, student_levels,
                                 teacher_levels, 'FitNet')


def test_stride_pairing_rules():
    distiller = Specs('neck', 'neck')
    paired = pair(distiller, levels('neck', [8, 16, 32, 64, 128]),
                  levels('neck', [4, 8, 16, 32, 64]))
    student, teacher = paired.student_levels, paired.teacher_levels
    assert [str(s) for s in paired.student_specs] == ['neck[:4]']
    assert [str(s) for s in paired.teacher_specs] == ['neck[1:]']
    assert [level.stride for level in student] == [level.stride for level in teacher] \
        == [8, 16, 32, 64]
    assert [level.index for level in teacher] == [0, 1, 2, 3]
    # Explicit slices and equal strides are left alone.
    for specs in (Specs('neck[:4]', 'neck[1:]'), Specs('neck', 'neck')):
        before = (list(specs.student_specs), list(specs.teacher_specs))
        same = levels('neck', [8, 16])
        paired = pair(specs, same, same)
        assert (paired.student_levels, paired.teacher_levels) == (same, same)
        assert (paired.student_specs, paired.teacher_specs) == before
    with pytest.raises(ValueError, match='different strides, none shared'):
        pair(Specs('neck', 'neck'), levels('neck', [8, 16]), levels('neck', [4]))
    # Different modules (neck vs backbone) are never re-paired: their level lists are
    # checked as written by the distiller.
    specs = Specs('neck', 'backbone')
    student, teacher = levels('neck', [4, 8, 16, 32, 64]), levels('backbone', [4, 8, 16, 32])
    paired = pair(specs, student, teacher)
    assert (paired.student_levels, paired.teacher_levels) == (student, teacher)
    with pytest.raises(ValueError, match='explicit slices'):
        pair(Specs('neck', 'neck'), levels('neck', [8, 16, 32]), levels('neck', [8, 32, 64]))


def test_heterogeneous_necks_are_paired_by_stride(shapes_data, tmp_path):
    """Mask R-CNN teacher (P2..P6) -> RetinaNet student (P3..P7): FitNet on 'neck' distils
    P3..P6, logs the pairing, and its loss is the MSE of exactly those levels."""
    messages = []
    logger = MMLogger.get_current_instance()
    handler = type('Keep', (__import__('logging').Handler, ), dict(
        emit=lambda self, record: messages.append(record.getMessage())))()
    logger.addHandler(handler)
    try:
        model, data = build_small(distillation_config(
            dict(cfg_path='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', **R18),
            'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
            dict(fitnet=dict(type='FitNet', student='neck', teacher='neck'))),
            shapes_data, tmp_path)
    finally:
        logger.removeHandler(handler)
    fitnet = model.distillers['fitnet']
    assert [str(s) for s in fitnet.student_specs] == ['neck[:4]']
    assert [str(s) for s in fitnet.teacher_specs] == ['neck[1:]']
    assert len(fitnet.adapters) == 4
    assert sum('paired by stride' in m and 'strides [8, 16, 32, 64]' in m for m in messages) == 1
    loss = model(**data, mode='loss')['distill_fitnet_loss']
    with torch.no_grad():
        student = model.student.extract_feat(data['inputs'])[:4]
        teacher = model.teacher.extract_feat(data['inputs'])[1:]
        expected = sum(((a(s) - t) ** 2).mean() for a, s, t in
                       zip(fitnet.adapters, student, teacher))
    assert [s.shape[2:] for s in student] == [t.shape[2:] for t in teacher]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    train_one_step(model, data)


# ------------------------------------------------------ FGFI on one-stage heads
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
    set_up(fgfi, levels('neck', strides), levels('neck', strides), student=student)
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
    strides = levels('neck', [8, 16])
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


# ---------------------------------------------------------- KD: dense + cascade
def manual_binary_kd(student, teacher, temperature, weight):
    total = 0.
    for s_row, t_row in zip(student.double().tolist(), teacher.double().tolist()):
        for s, t in zip(s_row, t_row):
            p = 1 / (1 + math.exp(-t / temperature))
            q = 1 / (1 + math.exp(-s / temperature))
            total -= p * math.log(q) + (1 - p) * math.log(1 - q)
    return weight * temperature ** 2 * total / len(student)


def rows(scores, classes):
    return torch.cat([s.permute(0, 2, 3, 1).reshape(-1, classes) for s in scores])


def test_dense_kd_matches_a_hand_computed_value(shapes_data, tmp_path):
    """RetinaNet R50 -> R18: every anchor's sigmoid class probabilities, BCE against
    the teacher's at T=2, against the same formula on float64 python numbers."""
    retina = FAMILIES['retinanet']
    kd = dict(type='KD', teacher='neck',
              loss=dict(type='BinaryKDLoss', temperature=2.0, loss_weight=0.5))
    model, data = build_small(distillation_config(dict(cfg_path=retina, **R18), retina,
                                                  dict(kd=kd)), shapes_data, tmp_path)
    head = model.student.bbox_head
    captured = []
    handle = head.register_forward_hook(lambda m, args, out: captured.append(out[0]))
    try:
        losses = model(**data, mode='loss')
    finally:
        handle.remove()
    with torch.no_grad():
        teacher_scores = model.teacher.bbox_head(model.teacher.extract_feat(data['inputs']))[0]
    classes = head.cls_out_channels
    student_rows, teacher_rows = rows(captured[0], classes), rows(teacher_scores, classes)
    anchors = sum(s.shape[2] * s.shape[3] for s in captured[0]) * 9 * len(data['inputs'])
    assert student_rows.shape == (anchors, classes) == teacher_rows.shape
    expected = manual_binary_kd(student_rows.detach(), teacher_rows, 2.0, 0.5)
    assert losses['distill_kd_loss'].item() == pytest.approx(expected, rel=1e-5)
    losses['distill_kd_loss'].backward()
    assert head.retina_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def test_cascade_kd_sums_the_stages_with_the_cascade_weights(shapes_data, tmp_path):
    cascade = FAMILIES['cascade-rcnn']
    kd = dict(type='KD', teacher='neck', loss=dict(type='KDLoss', temperature=3.0))
    model, data = build_small(distillation_config(dict(cfg_path=cascade, **R18), cascade,
                                                  dict(kd=kd)), shapes_data, tmp_path)
    roi_head = model.student.roi_head
    rois, logits = [], []
    handles = [e.register_forward_hook(lambda m, a, o: rois.append(a[1]))
               for e in roi_head.bbox_roi_extractor]
    handles += [h.register_forward_hook(lambda m, a, o: logits.append(o[0]))
                for h in roi_head.bbox_head]
    try:
        losses = model(**data, mode='loss')
    finally:
        for handle in handles:
            handle.remove()
    assert len(rois) == len(logits) == 3
    teacher = model.teacher.roi_head
    expected = tolerance = 0.
    with torch.no_grad():
        feats = model.teacher.extract_feat(data['inputs'])
        for stage, weight in enumerate(roi_head.stage_loss_weights):
            teacher_logits = teacher._bbox_forward(stage, feats, rois[stage])['cls_score']
            args = (logits[stage], teacher_logits, 3.0, weight)
            expected += manual_kd(*args)
            tolerance += kd_rounding_tolerance(*args)
    assert model.distillers['kd'].stage_weights == [1, 0.5, 0.25]
    assert losses['distill_kd_loss'].item() == pytest.approx(expected, rel=0, abs=tolerance)

    chosen = MODELS.build(dict(kd, stages=[2]))
    connect_distillers([chosen], model.student, model.teacher)
    assert [str(s) for s in chosen.student_specs] == [
        'roi_head.bbox_roi_extractor.2[1]', 'roi_head.bbox_head.2[0]']
    assert chosen.stage_weights == [0.25]


def test_kd_errors_name_the_problem(shapes_data, tmp_path):
    init_default_scope('mmdet')
    retina = dict(cfg_path=FAMILIES['retinanet'], **R18)
    fcos = dict(cfg_path=FAMILIES['fcos'], **R18)
    small = {k: small_detector(detector_config(v, k), 3) for k, v in
             dict(retina=retina, fcos=fcos, atss=FAMILIES['atss'],
                  faster='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                  cascade=FAMILIES['cascade-rcnn']).items()}

    def build(student_name, teacher_name, **kd):
        return MODELS.build(dict(type='mmkd.DistillationDetector', student=small[student_name],
                                 teacher=small[teacher_name],
                                 distillers=dict(kd=dict(dict(type='KD', teacher='neck'), **kd))))

    with pytest.raises(ValueError, match='do not score the same priors.*FitNet, ReviewKD'):
        build('retina', 'fcos')
    with pytest.raises(ValueError, match='do not score the same priors'):
        build('retina', 'atss')  # 9 anchors per location against 1
    with pytest.raises(ValueError, match='needs a two-stage detector.*only the student scores'):
        build('faster', 'retina')
    with pytest.raises(ValueError, match='single-stage RoI head and the teacher a cascade'):
        build('faster', 'cascade')
    with pytest.raises(ValueError, match='sigmoid classifier.*BinaryKDLoss, not KDLoss'):
        build('retina', 'retina', loss=dict(type='KDLoss'))
    with pytest.raises(ValueError, match=r'stages \[3\]'):
        build('cascade', 'cascade', stages=[3])
    with pytest.raises(ValueError, match="reads 256-channel features.*not 'backbone'"):
        build('faster', 'faster', teacher='backbone')  # issue 9 item 6: caught at build
    with pytest.raises(ValueError, match=r"dense head \(RetinaHead\) reads 5 levels"):
        build('retina', 'retina', teacher='backbone[1:]')


# ---------------------------------------------- mmpretrain teachers, shrinking
def test_teacher_config_custom_imports_take_effect(tmp_path, shapes_data):
    """A teacher given as a config path gets its own custom_imports imported at build."""
    module = 'mmkd_test_teacher_plugin'
    (tmp_path / f'{module}.py').write_text('IMPORTED = True\n')
    teacher = tmp_path / 'teacher.py'
    teacher.write_text(f"_base_ = '{FAMILIES['retinanet']}'\n"
                       f"custom_imports = dict(imports=['{module}'], "
                       'allow_failed_imports=False)\n')
    sys.path.insert(0, str(tmp_path))
    try:
        detector_config(str(teacher), 'teacher')
        assert sys.modules[module].IMPORTED
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)


def test_small_detector_shrinks_every_family():
    cascade = small_detector(detector_config(FAMILIES['cascade-rcnn'], 'x'), 3)
    assert [h.num_classes for h in cascade.roi_head.bbox_head] == [3, 3, 3]
    assert [s.sampler.num for s in cascade.train_cfg.rcnn] == [64, 64, 64]
    assert 'init_cfg' not in cascade.backbone
    rtmdet = small_detector(detector_config(FAMILIES['rtmdet'][0], 'x'), 3)
    assert (rtmdet.bbox_head.num_classes, rtmdet.bbox_head.stacked_convs,
            rtmdet.bbox_head.feat_channels) == (3, 1, 64)
    assert rtmdet.test_cfg.nms_pre == 100 and 'init_cfg' not in rtmdet.backbone
    assert rtmdet.neck.out_channels == 96  # the neck is kept as configured
    convnext = small_detector(detector_config(
        'mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py', 'x'), 3)
    assert 'init_cfg' not in convnext.backbone and convnext.backbone.arch == 'tiny'
    assert convnext.roi_head.mask_head.num_classes == 3
    yolox = small_detector(detector_config(
        'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', 'x'), 3)
    assert yolox.data_preprocessor.batch_augments is None


def test_retinanet_demo_configs_train_one_step(configs_dir, shapes_data, tmp_path):
    """configs/demo/retinanet_<method>.py (tools/demo.py --detector retinanet): the four
    methods' distillers, gathered in one model of the demo pair, train a step."""
    demo = osp.join(configs_dir, 'demo')
    distillers = {}
    for method in ('reviewkd', 'fgfi', 'fitnet', 'kd'):
        config = Config.fromfile(osp.join(demo, f'retinanet_{method}.py'))
        distillers.update(config.model.distillers)
    cfg = Config.fromfile(osp.join(demo, f'retinanet_{method}.py'))
    cfg.model.distillers = distillers
    assert Config.fromfile(osp.join(demo, 'retinanet_teacher.py')).model.neck.out_channels == 128
    model, data = build_small(cfg, shapes_data, tmp_path)
    assert model.distillers['kd'].kind == 'dense'
    assert set(train_one_step(model, data)) == {f'distill_{m}_loss' for m in distillers}
