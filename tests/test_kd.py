"""KD on RoI logits, and the KD / FitNet configs of the six detection pairs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmkd.models.distillation_detector import DistillationDetector
from mmkd.models.losses import KDLoss
from mmkd.registry import MODELS
from mmkd.testing import small_run_config

from helpers import manual_kd

PAIRS = ['faster-rcnn_r101-r18', 'faster-rcnn_r101-r50', 'faster-rcnn_r50-mv2',
         'mask-rcnn_r101-r18', 'mask-rcnn_r101-r50', 'mask-rcnn_r50-mv2']


def build_small(config, data, tmp_path, **model_overrides):
    """The model and one training batch of ``config`` shrunk by small_run_config."""
    init_default_scope('mmdet')
    cfg = small_run_config(config, data, str(tmp_path))
    cfg.model.update(model_overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return model, next(iter(loader))


class Capture:
    """Forward hook keeping every call's positional inputs and output."""

    def __init__(self, module):
        self.calls = []
        self.handle = module.register_forward_hook(
            lambda m, args, out: self.calls.append((args, out)))

    def remove(self):
        self.handle.remove()


# ---------------------------------------------------------------------------- KDLoss
@pytest.mark.parametrize('temperature,weight', [(1.0, 1.0), (4.0, 0.5)])
def test_kd_loss_matches_manual_kl(temperature, weight):
    torch.manual_seed(0)
    student = torch.randn(7, 5, requires_grad=True)
    teacher = torch.randn(7, 5, requires_grad=True) * 3
    loss = KDLoss(temperature=temperature, loss_weight=weight)(student, teacher)
    assert loss.item() == pytest.approx(manual_kd(student, teacher, temperature, weight),
                                        rel=1e-5)
    assert loss.item() > 0
    loss.backward()
    assert student.grad.abs().sum() > 0
    assert teacher.grad is None  # the teacher is the target, never trained by KD
    # Same distributions: no loss.
    same = KDLoss(temperature=temperature)(teacher.detach(), teacher.detach())
    assert same.item() == pytest.approx(0., abs=1e-6)


def test_kd_loss_sum_reduction_and_empty_rows():
    torch.manual_seed(1)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    mean = KDLoss(temperature=2.0)(student, teacher)
    total = KDLoss(temperature=2.0, reduction='sum')(student, teacher)
    assert total.item() == pytest.approx(4 * mean.item(), rel=1e-5)
    empty = KDLoss()(torch.zeros(0, 3, requires_grad=True), torch.zeros(0, 3))
    assert empty.item() == 0. and not torch.isnan(empty)


def test_kd_loss_bad_input():
    with pytest.raises(ValueError, match='temperature must be > 0'):
        KDLoss(temperature=0)
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        KDLoss(reduction='none')
    with pytest.raises(ValueError, match='same shape'):
        KDLoss()(torch.zeros(4, 3), torch.zeros(4, 5))


# ---------------------------------------------------------------- KD on RoI logits
@pytest.mark.parametrize('pair', ['faster-rcnn_r101-r18', 'mask-rcnn_r50-mv2'])
def test_kd_teacher_scores_exactly_the_student_rois(pair, configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, 'kd', f'{pair}_fpn_1x_coco.py')
    model, batch = build_small(config, shapes_data, tmp_path)
    model.train()
    student_head, teacher_head = model.student.roi_head, model.teacher.roi_head
    s_extract = Capture(student_head.bbox_roi_extractor)
    s_logits = Capture(student_head.bbox_head)
    t_extract = Capture(teacher_head.bbox_roi_extractor)
    t_logits = Capture(teacher_head.bbox_head)
    s_mask = Capture(student_head.mask_roi_extractor) if student_head.with_mask else None
    data = model.data_preprocessor(batch, True)
    try:
        losses = model(**data, mode='loss')
    finally:
        for capture in (s_extract, s_logits, t_extract, t_logits, s_mask):
            if capture is not None:
                capture.remove()

    # The student's box branch ran once on its sampled RoIs: sampler.num per image.
    assert len(s_extract.calls) == 1 and len(s_logits.calls) == 1
    rois = s_extract.calls[0][0][1]
    num = model.student.train_cfg.rcnn.sampler.num
    batch_size = len(data['data_samples'])
    assert rois.shape == (batch_size * num, 5)
    assert torch.bincount(rois[:, 0].long()).tolist() == [num] * batch_size
    if s_mask is not None:  # the mask branch used its own extractor on positives only
        assert len(s_mask.calls) == 1
        assert s_mask.calls[0][0][1].shape[0] < rois.shape[0]

    # The teacher's box head ran once, on exactly the student's RoIs, without grad.
    assert len(t_extract.calls) == 1 and len(t_logits.calls) == 1
    assert torch.equal(t_extract.calls[0][0][1], rois)
    teacher_logits = t_logits.calls[0][1][0]
    assert not teacher_logits.requires_grad

    # Independent teacher scoring: its own backbone + neck and RoI head on those RoIs.
    model.teacher.eval()
    with torch.no_grad():
        feats = model.teacher.extract_feat(data['inputs'])
        expected_logits = teacher_head._bbox_forward(feats, rois)['cls_score']
    torch.testing.assert_close(teacher_logits, expected_logits)

    student_logits = s_logits.calls[0][1][0]
    assert student_logits.shape == (batch_size * num, teacher_head.bbox_head.num_classes + 1)
    loss_cfg = Config.fromfile(config).model.distillers.kd.loss
    expected = manual_kd(student_logits, expected_logits, loss_cfg.temperature,
                         loss_cfg.loss_weight)
    assert losses['distill_kd_loss'].item() == pytest.approx(expected, rel=1e-4, abs=1e-7)

    # KD trains the student's RoI head, never the teacher.
    losses['distill_kd_loss'].backward()
    assert student_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def test_kd_config_errors(configs_dir):
    init_default_scope('mmdet')
    r18 = Config.fromfile(osp.join(configs_dir, 'baselines', 'faster-rcnn_r18_fpn_1x_coco.py'))
    r18.model.backbone.init_cfg = None
    kd = dict(type='KD', teacher='neck')

    with pytest.raises(ValueError, match="remove 'student'"):
        DistillationDetector(r18.model, r18.model, dict(kd=dict(kd, student='neck')))
    with pytest.raises(ValueError, match='4 classes but the teacher has 80'):
        DistillationDetector(dict(r18.model, roi_head=dict(r18.model.roi_head, bbox_head=dict(
            r18.model.roi_head.bbox_head, num_classes=4))), r18.model, dict(kd=kd))
    retina = dict(cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                  backbone=dict(init_cfg=None))
    with pytest.raises(ValueError, match='needs a two-stage detector'):
        DistillationDetector(r18.model, retina, dict(kd=kd))
    with pytest.raises(ValueError, match='expects stride 4'):
        DistillationDetector(r18.model, r18.model, dict(kd=dict(kd, teacher='neck[1:]')))
    mask = Config.fromfile(osp.join(configs_dir, 'baselines', 'mask-rcnn_r18_fpn_1x_coco.py'))
    mask.model.backbone.init_cfg = None
    shared = dict(mask.model, roi_head=dict(mask.model.roi_head, mask_roi_extractor=None))
    with pytest.raises(ValueError, match='shares the box RoI extractor'):
        DistillationDetector(shared, mask.model, dict(kd=kd))


# ----------------------------------------------------- the twelve baseline configs
@pytest.mark.parametrize('method', ['kd', 'fitnet'])
@pytest.mark.parametrize('pair', PAIRS)
def test_baseline_config_trains(method, pair, configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, method, f'{pair}_fpn_1x_coco.py')
    raw = Config.fromfile(config).model
    teacher_cfg = raw.teacher if isinstance(raw.teacher, str) else raw.teacher.cfg_path
    assert raw.teacher_ckpt.startswith('https://download.openmmlab.com/mmdetection/')
    t_arch = pair.split('_')[1].split('-')[0]  # r101 / r50
    assert f'{t_arch}_fpn' in teacher_cfg and pair.split('_')[0] in teacher_cfg

    model, batch = build_small(config, shapes_data, tmp_path)
    teacher_before = [p.detach().clone() for p in model.teacher.parameters()]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    model.train()
    assert not model.teacher.training
    log = model.train_step(batch, optim)
    key = f'distill_{method}_loss'
    assert key in log and torch.isfinite(log[key]) and log[key].item() > 0
    assert all(torch.isfinite(v) for v in log.values())
    # Offline: the teacher receives no gradient and never changes.
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, model.teacher.parameters()))
