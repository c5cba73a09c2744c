"""ReviewKD: the distiller's wiring and checks, and the six configs on real mmdet models."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.models.distillers import ReviewKD
from mmkd.models.recorder import FeatureLevel
from mmkd.registry import MODELS
from mmkd.testing import small_model, small_run_config

from helpers import hcl_reference, set_up


# config name -> (teacher, student, loss weight of the paper, METHODS.md)
PAIRS = {
    'faster-rcnn_r101-r18_fpn_1x_coco': ('r101', 'r18', 1.2),
    'faster-rcnn_r101-r50_fpn_1x_coco': ('r101', 'r50', 1.0),
    'faster-rcnn_r50-mv2_fpn_1x_coco': ('r50', 'mv2', 2.0),
    'mask-rcnn_r101-r18_fpn_1x_coco': ('r101', 'r18', 1.5),
    'mask-rcnn_r101-r50_fpn_1x_coco': ('r101', 'r50', 0.8),
    'mask-rcnn_r50-mv2_fpn_1x_coco': ('r50', 'mv2', 1.0),
}
R18_C2_C5 = [(1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8), (1, 512, 4, 4)]
R101_C2_C5 = [(1, 256, 32, 32), (1, 512, 16, 16), (1, 1024, 8, 8), (1, 2048, 4, 4)]


def sizes(shapes):
    """Probe levels of features shaped ``shapes`` for a 128x128 input."""
    return [FeatureLevel(channels=s[1], stride=128 // s[-1], spec='backbone', index=i)
            for i, s in enumerate(shapes)]


def built(student_shapes, teacher_shapes, **kwargs):
    distiller = ReviewKD('backbone', loss=dict(type='HCLLoss', loss_weight=kwargs.pop('w', 1.)),
                         **kwargs)
    set_up(distiller, sizes(student_shapes), sizes(teacher_shapes))
    return distiller


# ------------------------------------------------------------------------ distiller unit
def test_abfs_take_channels_from_student_and_teacher():
    distiller = built(R18_C2_C5, R101_C2_C5, mid_channels=16)
    assert [a.in_channels for a in distiller.abfs] == [64, 128, 256, 512]
    assert [a.out_channels for a in distiller.abfs] == [256, 512, 1024, 2048]
    assert [a.mid_channels for a in distiller.abfs] == [16] * 4
    assert [a.fuse for a in distiller.abfs] == [True, True, True, False]  # deepest: no fusion


def test_forward_is_the_deep_to_shallow_chain():
    torch.manual_seed(0)
    shapes_s = [(2, 3, 16, 16), (2, 5, 8, 8), (2, 7, 4, 4), (2, 7, 2, 2), (2, 6, 1, 1)]
    shapes_t = [(2, 4, 16, 16), (2, 4, 8, 8), (2, 6, 4, 4), (2, 8, 2, 2), (2, 9, 1, 1)]
    distiller = built(shapes_s, shapes_t, mid_channels=5, w=1.3)
    s = [torch.randn(*shape) for shape in shapes_s]
    t = [torch.randn(*shape) for shape in shapes_t]
    abfs = distiller.abfs
    out4, r = abfs[4](s[4])
    out3, r = abfs[3](s[3], r)
    out2, r = abfs[2](s[2], r)
    out1, r = abfs[1](s[1], r)
    out0, _ = abfs[0](s[0], r)
    expected = 1.3 * sum(hcl_reference(o, x) for o, x in zip([out0, out1, out2, out3, out4], t))
    loss = distiller(s, t, None)['loss']
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_review_direction_deep_student_feeds_shallow_outputs():
    torch.manual_seed(1)
    distiller = built(R18_C2_C5, R101_C2_C5, mid_channels=8)
    s = [torch.randn(*shape[1:]).unsqueeze(0).repeat(2, 1, 1, 1).requires_grad_()
         for shape in R18_C2_C5]
    t = [torch.randn(2, *shape[1:]) for shape in R101_C2_C5]
    outs = {}
    for level, abf in enumerate(distiller.abfs):
        abf.register_forward_hook(lambda m, a, o, level=level: outs.__setitem__(level, o[0]))
    distiller(s, t, None)
    shallow_from_deep, = torch.autograd.grad(outs[0].sum(), s[-1], retain_graph=True)
    assert shallow_from_deep.abs().sum() > 0  # the deepest student level reviews C2
    deep_from_shallow = torch.autograd.grad(outs[3].sum(), s[0], allow_unused=True)[0]
    assert deep_from_shallow is None  # and never the other way round


def test_build_and_forward_refuse_bad_input():
    with pytest.raises(ValueError, match='mid_channels must be a positive int'):
        ReviewKD('neck', mid_channels=0)
    with pytest.raises(ValueError, match=r'student specs give 4 level\(s\) but the teacher'):
        built(R18_C2_C5, R101_C2_C5[:3])
    with pytest.raises(ValueError, match='level 1 has stride 8 on the student .* different'):
        built(R18_C2_C5, [R101_C2_C5[0]] + R101_C2_C5[2:] + [(1, 2048, 2, 2)])
    with pytest.raises(ValueError, match='from shallow to deep'):
        built(R18_C2_C5[::-1], R101_C2_C5[::-1])
    with pytest.raises(ValueError, match='outside them'):
        set_up(ReviewKD('roi_head'), None, sizes(R101_C2_C5))
    with pytest.raises(RuntimeError, match='not set up'):
        ReviewKD('neck')([torch.zeros(1, 4, 2, 2)], [torch.zeros(1, 4, 2, 2)], None)
    distiller = built(R18_C2_C5[2:], R101_C2_C5[2:], mid_channels=4)
    s = [torch.zeros(2, 256, 9, 9), torch.zeros(2, 512, 5, 5)]
    t = [torch.zeros(2, 1024, 9, 9), torch.zeros(2, 2048, 4, 4)]
    with pytest.raises(ValueError, match=r'level 1 has spatial size \(5, 5\) on the student but '
                                         r'\(4, 4\) on the teacher'):
        distiller(s, t, None)
    with pytest.raises(ValueError, match=r'built for 2 level\(s\) but got 1 student'):
        distiller(s[:1], t, None)


# ------------------------------------------------------------------------ configs
def config_path(configs_dir, name):
    return osp.join(configs_dir, 'reviewkd', name + '.py')


@pytest.mark.parametrize('name', sorted(PAIRS))
def test_config_matches_its_baseline_and_the_paper(configs_dir, name):
    teacher, student, weight = PAIRS[name]
    detector = name.split('_')[0]
    cfg = Config.fromfile(config_path(configs_dir, name))
    base = Config.fromfile(
        osp.join(configs_dir, 'baselines', f'{detector}_{student}_fpn_1x_coco.py'))
    assert cfg.model.student == base.model
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler', 'train_dataloader',
                'val_evaluator', 'auto_scale_lr'):
        assert cfg[key] == base[key], key
    distillers = cfg.model.distillers
    assert list(distillers) == ['reviewkd']
    assert distillers.reviewkd.type == 'ReviewKD'
    assert distillers.reviewkd.student == distillers.reviewkd.teacher == 'neck'
    assert distillers.reviewkd.loss == dict(type='HCLLoss', pool_sizes=(4, 2, 1),
                                            loss_weight=weight)
    assert distillers.reviewkd.get('warmup_iters', 0) == 0  # no warm-up for detection
    assert cfg.model.teacher.startswith(f'mmdet::{detector.replace("-", "_")}/{detector}_'
                                        f'{teacher}_fpn_ms-')
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/')
    assert f'{detector.replace("-", "_")}_{teacher}_fpn_mstrain' in cfg.model.teacher_ckpt


@pytest.mark.parametrize('name', sorted(PAIRS))
def test_config_trains_with_gradients_into_abfs_and_student(configs_dir, shapes_data, tmp_path,
                                                            name):
    cfg = small_run_config(config_path(configs_dir, name), shapes_data, str(tmp_path), max_iters=1)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    model = runner.model
    distiller = model.distillers['reviewkd']
    assert [(a.in_channels, a.mid_channels, a.out_channels, a.fuse) for a in distiller.abfs] \
        == [(256, 256, 256, True)] * 4 + [(256, 256, 256, False)]  # P2..P6

    # One training iteration by hand: what does the distillation loss alone reach?
    model.train()
    data = model.data_preprocessor(next(runner.train_loop.dataloader_iterator), True)
    losses = model(**data, mode='loss')
    distill = losses['distill_reviewkd_loss']
    assert torch.isfinite(distill) and distill.item() > 0
    distill.backward()
    for pname, param in distiller.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, pname
    assert not any(p.requires_grad or p.grad is not None for p in model.teacher.parameters())
    trainable = [(n, p) for n, p in model.student.backbone.named_parameters() if p.requires_grad]
    assert trainable
    for pname, param in trainable:
        assert param.grad is not None and param.grad.abs().sum() > 0, pname
    # ABF outputs feed only the loss: the heads do not see them.
    for head in (model.student.rpn_head, model.student.roi_head):
        assert all(p.grad is None for p in head.parameters())
    model.zero_grad(set_to_none=True)

    runner.train()  # the full loop: student losses + distillation, optimiser step
    logged = runner.message_hub.get_scalar('train/distill_reviewkd_loss').current()
    assert math.isfinite(logged) and logged > 0


def test_only_abfs_trained_towards_fixed_teacher_lower_the_loss(
        configs_dir, shapes_data, tmp_path):
    cfg = small_run_config(config_path(configs_dir, 'faster-rcnn_r101-r18_fpn_1x_coco'),
                           shapes_data, str(tmp_path), max_iters=1)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    model = runner.model.train()
    data = model.data_preprocessor(next(runner.train_loop.dataloader_iterator), True)
    with torch.no_grad():  # record the (frozen) student and teacher features once
        student_feats = list(model.student.extract_feat(data['inputs']))
        teacher_feats = list(model.teacher.extract_feat(data['inputs']))
    distiller = model.distillers['reviewkd']
    optimizer = torch.optim.SGD(distiller.parameters(), lr=0.05, momentum=0.9)
    history = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = distiller(student_feats, teacher_feats, None)['loss']
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.8 * history[0], history
    assert all(b < a for a, b in zip(history[3:], history[4:])), history


def test_fpn_and_backbone_distilled_together(configs_dir, shapes_data, tmp_path):
    cfg = Config.fromfile(config_path(configs_dir, 'faster-rcnn_r50-mv2_fpn_1x_coco'))
    cfg.model.distillers = dict(
        reviewkd_fpn=dict(type='ReviewKD', student='neck', teacher='neck',
                          loss=dict(type='HCLLoss', loss_weight=2.0)),
        reviewkd_backbone=dict(type='ReviewKD', student='backbone', teacher='backbone',
                               mid_channels=64, loss=dict(type='HCLLoss', loss_weight=1.0)))
    cfg = small_run_config(cfg, shapes_data, str(tmp_path), max_iters=1)
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    backbone_abfs = runner.model.distillers['reviewkd_backbone'].abfs
    # MobileNetV2 stages 1, 2, 4, 7 -> ResNet-50 C2..C5
    assert [a.in_channels for a in backbone_abfs] == [24, 32, 96, 1280]
    assert [a.out_channels for a in backbone_abfs] == [256, 512, 1024, 2048]
    assert len(runner.model.distillers['reviewkd_fpn'].abfs) == 5
    runner.train()
    for key in ('distill_reviewkd_fpn_loss', 'distill_reviewkd_backbone_loss'):
        value = runner.message_hub.get_scalar(f'train/{key}').current()
        assert math.isfinite(value) and value > 0, key


def test_mismatched_levels_refused_at_build(configs_dir, shapes_data):
    cfg = Config.fromfile(config_path(configs_dir, 'faster-rcnn_r50-mv2_fpn_1x_coco'))
    model = small_model(cfg.model, num_classes=3)
    model.distillers = dict(reviewkd=dict(type='ReviewKD', student='neck[1:]', teacher='neck[:4]'))
    with pytest.raises(ValueError, match=r'ReviewKD: level 0 has stride 8 on the student '
                                         r'\(neck\[1:\]\) but 4 on the teacher'):
        MODELS.build(model)
    model.distillers = dict(reviewkd=dict(type='ReviewKD', student='neck', teacher='backbone'))
    with pytest.raises(ValueError, match=r'student specs give 5 level\(s\) but the teacher '
                                         r'specs give 4'):
        MODELS.build(model)
