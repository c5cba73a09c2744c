"""KD on RoI logits, dense heads and cascades against hand computations, and the errors
of pairs KD cannot distil."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.config import detector_config
from mmkd.models import connect_distillers
from mmkd.models.distillation_detector import DistillationDetector
from mmkd.registry import MODELS
from mmkd.testing import small_detector

from helpers import (FAMILIES, R18, Capture, build_small, build_small_raw, distillation_config,
                     kd_rounding_tolerance, manual_kd)


@pytest.mark.parametrize('pair', ['faster-rcnn_r101-r18', 'mask-rcnn_r50-mv2'])
def test_kd_teacher_scores_exactly_the_student_rois(pair, configs_dir, shapes_data, tmp_path):
    config = osp.join(configs_dir, 'kd', f'{pair}_fpn_1x_coco.py')
    model, batch = build_small_raw(config, shapes_data, tmp_path)
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
                  cascade=FAMILIES['cascade-rcnn'],
                  sparse=dict(cfg_path='mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py',
                              **R18)).items()}

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
    with pytest.raises(ValueError, match=r'SparseRCNN\) has a query-based RoI head.*FitNet'):
        build('sparse', 'sparse')  # its DIIHead needs the queries' proposal features
    with pytest.raises(ValueError, match='sigmoid classifier.*BinaryKDLoss, not KDLoss'):
        build('retina', 'retina', loss=dict(type='KDLoss'))
    with pytest.raises(ValueError, match=r'stages \[3\]'):
        build('cascade', 'cascade', stages=[3])
    with pytest.raises(ValueError, match="reads 256-channel features.*not 'backbone'"):
        build('faster', 'faster', teacher='backbone')  # caught at build
    with pytest.raises(ValueError, match=r"dense head \(RetinaHead\) reads 5 levels"):
        build('retina', 'retina', teacher='backbone[1:]')
