"""MutualDistillationDetector: online (mutual) distillation, both models learning and
both exported."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmkd.export import export_detector
from mmkd.models import MutualDistillationDetector, ReverseDistiller
from mmkd.registry import MODELS
from mmkd.testing import small_run_config

from helpers import Capture, build, kd_rounding_tolerance, manual_kd

ONLINE = 'online/faster-rcnn_r50-r18_dml_fpn_1x_coco.py'


def grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def total(losses, prefix):
    """Sum of the losses whose key starts with ``prefix`` (RPN losses are per-level lists)."""
    values = [v for k, v in losses.items() if k.startswith(prefix)]
    return sum(sum(v) if isinstance(v, list) else v for v in values)


def any_grad(gradients):
    return any(g is not None and g.abs().sum() > 0 for g in gradients)


def test_online_both_models_learn_and_both_export(configs_dir, shapes_data, tmp_path):
    cfg = small_run_config(osp.join(configs_dir, ONLINE), shapes_data, str(tmp_path))
    for distiller in cfg.model.distillers.values():
        distiller.warmup_iters = 0  # the config ramps KD up over 500 iterations
    model, batch = build(cfg)
    assert isinstance(model, MutualDistillationDetector)
    assert model.distillation_directions() == {'kd_from_teacher': 'student<-teacher',
                                               'kd_from_student': 'teacher<-student'}
    assert isinstance(model.distillers.kd_from_student, ReverseDistiller)
    model.train()
    assert model.teacher.training and model.student.training

    s_box, t_box = model.student.roi_head, model.teacher.roi_head
    hooks = [Capture(m) for m in (s_box.bbox_roi_extractor, s_box.bbox_head,
                                  t_box.bbox_roi_extractor, t_box.bbox_head)]
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    for hook in hooks:
        hook.handle.remove()
    s_rois, s_logits, t_rois, t_logits = hooks
    # Each RoI head ran twice: its own loss on its own RoIs, then (no grad) on the other
    # model's RoIs to give the other one its KD target.
    assert len(s_rois.calls) == len(t_rois.calls) == 2
    assert torch.equal(t_rois.calls[1][0][1], s_rois.calls[0][0][1])
    assert torch.equal(s_rois.calls[1][0][1], t_rois.calls[0][0][1])
    kd_cfg = cfg.model.distillers.kd_from_teacher.loss
    for key, student, teacher in [
            ('distill_kd_from_teacher_loss', s_logits.calls[0][1][0], t_logits.calls[1][1][0]),
            ('distill_kd_from_student_loss', t_logits.calls[0][1][0], s_logits.calls[1][1][0])]:
        args = (student, teacher, kd_cfg.temperature, kd_cfg.loss_weight)
        assert losses[key].item() == pytest.approx(
            manual_kd(*args), rel=0, abs=kd_rounding_tolerance(*args)), key

    student_params = [p for p in model.student.parameters() if p.requires_grad]
    teacher_params = [p for p in model.teacher.parameters() if p.requires_grad]
    assert 'teacher_loss_cls' in losses and 'teacher_loss_rpn_cls' in losses
    detection = total(losses, 'loss_')
    teacher_detection = total(losses, 'teacher_loss_')
    # Each model gets gradients from its own detection losses and from the distillation
    # loss it is the learner of; never from the other model's.
    for loss, student_learns in ((detection, True), (teacher_detection, False),
                                 (losses['distill_kd_from_teacher_loss'], True),
                                 (losses['distill_kd_from_student_loss'], False)):
        assert any_grad(grads(loss, student_params)) == student_learns
        assert any_grad(grads(loss, teacher_params)) == (not student_learns)

    # One optimizer step changes both models (heads and backbones); the teacher's
    # frozen stem/stage 1 (frozen_stages=1 in its config) stays frozen.
    frozen = [p for p in model.teacher.parameters() if not p.requires_grad]
    assert frozen and any(p is model.teacher.backbone.conv1.weight for p in frozen)
    # (layer4's downsample conv: at init the residual branches get no gradient, their
    # last BN starting at zero as mmdet's ResNets do.)
    watched = [model.student.roi_head.bbox_head.fc_cls.weight, model.teacher.roi_head.bbox_head
               .fc_cls.weight, model.student.backbone.layer4[0].downsample[0].weight,
               model.teacher.backbone.layer4[0].downsample[0].weight, *frozen]
    before = [p.detach().clone() for p in watched]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    log = model.train_step(batch, optim)
    assert all(torch.isfinite(v) for v in log.values())
    changed = [not torch.equal(b, p) for b, p in zip(before, watched)]
    assert changed[:4] == [True] * 4
    assert not any(changed[4:])

    # Both models are in the checkpoint and export as plain mmdet detectors.
    checkpoint = str(tmp_path / 'iter_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), checkpoint)
    config = str(tmp_path / 'online_small.py')
    cfg.dump(config)
    for role in ('student', 'teacher'):
        weights, detector_config = export_detector(config, checkpoint, str(tmp_path / role),
                                                   role)
        detector = MMDET_MODELS.build(Config.fromfile(detector_config).model)
        detector.load_state_dict(torch.load(weights)['state_dict'], strict=True)
        trained = getattr(model, role).state_dict()
        assert all(torch.equal(v, trained[k]) for k, v in detector.state_dict().items())


def test_mutual_feature_distillation_both_ways(configs_dir, shapes_data, tmp_path):
    """FitNet both ways between ResNet-18 (student) and ResNet-50 (teacher) backbones:
    the reversed entry's adapters map the teacher's channels to the student's."""
    cfg = small_run_config(osp.join(configs_dir, ONLINE), shapes_data, str(tmp_path))
    cfg.model.distillers = dict(
        fit_s=dict(type='FitNet', student='backbone', teacher='backbone'),
        fit_t=dict(type='FitNet', direction='teacher<-student', student='backbone',
                   teacher='backbone'))
    model, batch = build(cfg)
    model.train()
    to_teacher = [(a.in_channels, a.out_channels) for a in model.distillers.fit_s.adapters]
    to_student = [(a.in_channels, a.out_channels)
                  for a in model.distillers.fit_t.distiller.adapters]
    assert to_teacher == [(64, 256), (128, 512), (256, 1024), (512, 2048)]
    assert to_student == [(c_out, c_in) for c_in, c_out in to_teacher]
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    student_params = [p for p in model.student.parameters() if p.requires_grad]
    teacher_params = [p for p in model.teacher.parameters() if p.requires_grad]
    for key, student_learns in (('distill_fit_s_loss', True), ('distill_fit_t_loss', False)):
        assert losses[key].item() > 0
        assert any_grad(grads(losses[key], student_params)) == student_learns
        assert any_grad(grads(losses[key], teacher_params)) == (not student_learns)
    # Each loss also trains its own adapters, not the other direction's.
    assert any_grad(grads(losses['distill_fit_t_loss'],
                          list(model.distillers.fit_t.parameters())))
    assert not any_grad(grads(losses['distill_fit_t_loss'],
                              list(model.distillers.fit_s.parameters())))

    cfg.model.distillers.fit_t.direction = 'both'
    with pytest.raises(ValueError, match="'fit_t': direction must be one of"):
        MODELS.build(cfg.model)
