"""The self-distillation, teacher-assistant (two steps, through the export) and
composition (several methods in one config) recipes."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmkd.export import export_detector
from mmkd.registry import MODELS
from mmkd.testing import small_run_config

from helpers import Capture, build, kd_rounding_tolerance, manual_kd

SELF = 'self/faster-rcnn_r18-r18_kd_fpn_1x_coco.py'
TA_STEP1 = 'teacher_assistant/faster-rcnn_r101-r50_ta-step1_fpn_1x_coco.py'
TA_STEP2 = 'teacher_assistant/faster-rcnn_r50ta-r18_ta-step2_fpn_1x_coco.py'
COMPOSITION = 'composition/faster-rcnn_r101-r18_reviewkd-kd_fpn_1x_coco.py'


def test_self_distillation_offline_teacher_never_changes(configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, SELF)
    raw = Config.fromfile(config).model
    # The documented teacher: what tools/train.py writes for the R18 baseline.
    assert raw.teacher_ckpt == 'work_dirs/faster-rcnn_r18_fpn_1x_coco/epoch_12.pth'
    assert osp.isfile(osp.join(configs_dir, 'baselines', 'faster-rcnn_r18_fpn_1x_coco.py'))
    assert raw.teacher == raw.student

    # A "trained" R18 baseline checkpoint, as the Runner saves one.
    cfg = small_run_config(config, shapes_data, str(tmp_path))
    init_default_scope('mmdet')
    trained = MMDET_MODELS.build(cfg.model.student)
    trained.init_weights()
    ckpt = str(tmp_path / 'epoch_12.pth')
    torch.save(dict(state_dict=trained.state_dict(), meta=dict()), ckpt)
    cfg.model.teacher_ckpt = ckpt  # small_run_config drops it; loaded strictly
    model, batch = build(cfg)
    teacher_state = model.teacher.state_dict()
    assert {k: v.shape for k, v in teacher_state.items()} == \
        {k: v.shape for k, v in model.student.state_dict().items()}
    assert all(torch.equal(v, teacher_state[k]) for k, v in trained.state_dict().items())

    model.train()
    assert not model.teacher.training
    teacher_before = [p.detach().clone() for p in model.teacher.parameters()]
    student_before = model.student.roi_head.bbox_head.fc_cls.weight.detach().clone()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    for _ in range(2):
        log = model.train_step(batch, optim)
        assert log['distill_kd_loss'].item() > 0
    assert not torch.equal(student_before, model.student.roi_head.bbox_head.fc_cls.weight)
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, model.teacher.parameters()))

    cfg.model.teacher_ckpt = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='teacher_ckpt'):
        MODELS.build(cfg.model)


def test_teacher_assistant_recipe(configs_dir, shapes_data, tmp_path):
    # Step 1: R101 -> R50, a couple of iterations, then the export tool's function.
    step1 = small_run_config(osp.join(configs_dir, TA_STEP1), shapes_data, str(tmp_path / 'step1'))
    Runner.from_cfg(step1).train()
    step1_config = str(tmp_path / 'step1.py')
    step1.dump(step1_config)
    export_dir = tmp_path / 'step1' / 'export'
    weights, exported_config = export_detector(step1_config, str(tmp_path / 'step1' /
                                                                 'iter_2.pth'), str(export_dir))
    assert osp.basename(weights) == 'student.pth'
    assert osp.basename(exported_config) == 'student_config.py'

    # Step 2: its configured teacher is that export (paths relative to the repo root).
    cfg = Config.fromfile(osp.join(configs_dir, TA_STEP2))
    step1_name = osp.splitext(osp.basename(TA_STEP1))[0]
    assert cfg.model.teacher.cfg_path == f'work_dirs/{step1_name}/export/student_config.py'
    assert cfg.model.teacher_ckpt == f'work_dirs/{step1_name}/export/student.pth'
    cfg.model.teacher.cfg_path = exported_config
    step2 = small_run_config(cfg, shapes_data, str(tmp_path / 'step2'))
    step2.model.teacher_ckpt = weights  # small_run_config drops it; loaded strictly
    assert 'teacher_ckpt_strict' not in step2.model  # default: strict
    model, batch = build(step2)
    assert model.teacher.backbone.depth == 50 and model.student.backbone.depth == 18
    exported = torch.load(weights)['state_dict']
    assert set(exported) == set(model.teacher.state_dict())
    assert all(torch.equal(v, model.teacher.state_dict()[k]) for k, v in exported.items())
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    model.train()
    for _ in range(2):
        log = model.train_step(batch, optim)
        assert torch.isfinite(log['loss']) and log['distill_reviewkd_loss'].item() > 0


def test_composition_weights_and_schedules(configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, COMPOSITION)
    cfg = small_run_config(config, shapes_data, str(tmp_path))
    distillers = cfg.model.distillers
    assert distillers.reviewkd.type == 'ReviewKD' and distillers.kd.type == 'KD'
    assert distillers.reviewkd.loss.loss_weight == 1.2 and distillers.kd.warmup_iters == 500
    model, batch = build(cfg)
    model.train()
    s_logits = Capture(model.student.roi_head.bbox_head)
    t_logits = Capture(model.teacher.roi_head.bbox_head)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 250)  # KD half-way through its linear warm-up
    try:
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
        log = model.train_step(batch, optim)
    finally:
        hub.update_info('iter', 0)
        s_logits.handle.remove()
        t_logits.handle.remove()
    args = (s_logits.calls[0][1][0], t_logits.calls[0][1][0],
            distillers.kd.loss.temperature, distillers.kd.loss.loss_weight)
    assert losses['distill_kd_loss'].item() == pytest.approx(
        0.5 * manual_kd(*args), rel=0, abs=0.5 * kd_rounding_tolerance(*args))
    assert losses['distill_reviewkd_loss'].item() > 0
    assert model.distillers.reviewkd.schedule_factor(250, 0) == 1.
    assert {'distill_reviewkd_loss', 'distill_kd_loss'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
