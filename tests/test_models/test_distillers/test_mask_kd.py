"""MaskKD on Mask R-CNN and Cascade Mask R-CNN against hand computations, and the errors of
pairs it cannot distil."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.config import build_detector, detector_config
from mmkd.models.recorder import FeatureLevel
from mmkd.registry import MODELS
from mmkd.testing import small_detector

from helpers import (FLOAT32_EPS, R18, Capture, build_small, distillation_config, set_up,
                     spec_levels, train_one_step)

CASCADE_MASK = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
MASK_RCNN = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
# mmdet's mask heads (4 convs of 256 channels on every positive RoI, per stage) dominate a
# CPU step; these are 64 channels wide, as the demo student's.
NARROW_MASK_HEAD = dict(roi_head=dict(mask_head=dict(conv_out_channels=64)))
# The loss averages ~1e4 float32 pixel terms (torch sums them pairwise: error ~log2(N)
# ulps); 1e-5 relative is over ten times that bound, and far below what a wrong channel,
# temperature, weight or normaliser changes.
REL = 100 * FLOAT32_EPS


def reference_mask_kd(student_logits, teacher_logits, labels, temperature, weight):
    """``weight * T^2 * mean over pixels of BCE(sigmoid(s / T), sigmoid(t / T))`` on each
    RoI's ``labels`` channel, in float64 from the formula."""
    total, count = 0., 0
    for s_roi, t_roi, label in zip(student_logits.detach().double(),
                                   teacher_logits.detach().double(), labels.tolist()):
        q = 1 / (1 + torch.exp(-s_roi[label] / temperature))
        p = 1 / (1 + torch.exp(-t_roi[label] / temperature))
        total += -(p * torch.log(q) + (1 - p) * torch.log(1 - q)).sum().item()
        count += p.numel()
    return weight * temperature ** 2 * total / count


def assigned_labels(rois, data_samples):
    """The class of the ground-truth box each RoI overlaps most (IoU written out): the
    label mmdet's max-IoU assigner gives a positive RoI."""
    labels = []
    for roi in rois.detach().double():
        gt = data_samples[int(roi[0])].gt_instances
        boxes = gt.bboxes.double()
        width = (torch.minimum(boxes[:, 2], roi[3]) - torch.maximum(boxes[:, 0], roi[1])).clamp(0)
        height = (torch.minimum(boxes[:, 3], roi[4]) - torch.maximum(boxes[:, 1], roi[2])).clamp(0)
        inter = width * height
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        iou = inter / (areas + (roi[3] - roi[1]) * (roi[4] - roi[2]) - inter)
        labels.append(int(gt.labels[iou.argmax()]))
    return torch.tensor(labels)


def test_mask_kd_matches_a_hand_computation(configs_dir, shapes_data, tmp_path):
    """The demo's Mask R-CNN pair with MaskKD (T=2, weight 0.5) and KD in one config: the
    teacher's mask head scores exactly the student's positive RoIs on its own features;
    the loss is the hand-computed BCE on each RoI's ground-truth class channel; it trains
    the student's mask head, never the teacher; a batch without objects gives 0."""
    demo = osp.join(configs_dir, 'demo')
    cfg = Config.fromfile(osp.join(demo, 'mask-rcnn_maskkd.py'))
    assert cfg.model.distillers.maskkd.type == 'MaskKD'
    cfg.model.distillers.maskkd.loss.update(temperature=2.0, loss_weight=0.5)
    cfg.model.distillers.kd = Config.fromfile(osp.join(demo, 'mask-rcnn_kd.py')).model.distillers.kd
    model, data = build_small(cfg, shapes_data, tmp_path)
    student_head, teacher_head = model.student.roi_head, model.teacher.roi_head
    captures = [Capture(m) for m in (student_head.mask_roi_extractor, student_head.mask_head,
                                     student_head.mask_head.loss_mask,
                                     teacher_head.mask_roi_extractor)]
    try:
        losses = model(**data, mode='loss')
    finally:
        for capture in captures:
            capture.remove()
    s_extract, s_mask, s_loss, t_extract = (c.calls for c in captures)
    assert len(s_extract) == len(s_mask) == len(s_loss) == len(t_extract) == 1
    rois, student_logits = s_extract[0][0][1], s_mask[0][1]
    assert 0 < len(rois) < model.student.train_cfg.rcnn.sampler.num * len(data['inputs'])
    assert student_logits.shape == (len(rois), 3, 28, 28)
    labels = assigned_labels(rois, data['data_samples'])
    assert torch.equal(s_loss[0][0][2], labels)  # the channels mmdet's mask loss trains
    assert torch.equal(t_extract[0][0][1], rois)

    with torch.no_grad():  # mmdet's own mask branch of the teacher on those RoIs
        feats = model.teacher.extract_feat(data['inputs'])
        teacher_logits = teacher_head._mask_forward(feats, rois)['mask_preds']
    expected = reference_mask_kd(student_logits, teacher_logits, labels, 2.0, 0.5)
    assert losses['distill_maskkd_loss'].item() == pytest.approx(expected, rel=REL)
    # Another channel gives another value: the test sees which channel is distilled.
    other = reference_mask_kd(student_logits, teacher_logits, (labels + 1) % 3, 2.0, 0.5)
    assert abs(other - expected) > 1e3 * REL * expected
    assert torch.isfinite(losses['distill_kd_loss'])

    losses['distill_maskkd_loss'].backward()
    assert student_head.mask_head.conv_logits.weight.grad.abs().sum() > 0
    assert student_head.bbox_head.fc_cls.weight.grad is None  # masks only
    assert all(p.grad is None for p in model.teacher.parameters())

    # Images without objects: no positive RoI, and mmdet skips its mask loss (so no labels
    # are recorded). MaskKD gives 0, still in the graph, not an error at that iteration.
    for sample in data['data_samples']:
        sample.gt_instances = sample.gt_instances[:0]
    empty = model(**data, mode='loss')['distill_maskkd_loss']
    assert empty.item() == 0 and empty.requires_grad


def test_cascade_mask_kd_sums_the_stages_with_the_cascade_weights(shapes_data, tmp_path):
    """Cascade Mask R-CNN R50 -> R18: stage i of the teacher scores the student's stage-i
    positives; the stage losses weighted 1, 0.5, 0.25; a training step leaves the teacher
    bit-identical."""
    maskkd = dict(type='MaskKD', teacher='neck', loss=dict(type='BinaryKDLoss'))
    student = dict(cfg_path=CASCADE_MASK, **R18, **NARROW_MASK_HEAD)
    teacher = dict(cfg_path=CASCADE_MASK, **NARROW_MASK_HEAD)
    model, data = build_small(distillation_config(student, teacher, dict(maskkd=maskkd)),
                              shapes_data, tmp_path)
    roi_head = model.student.roi_head
    captures = [(Capture(e), Capture(h)) for e, h in zip(roi_head.mask_roi_extractor,
                                                         roi_head.mask_head)]
    try:
        distilled = train_one_step(model, data)
    finally:
        for pair in captures:
            for capture in pair:
                capture.remove()
    distiller = model.distillers['maskkd']
    assert distiller.stages == [0, 1, 2] and distiller.stage_weights == [1, 0.5, 0.25]
    expected = 0.
    with torch.no_grad():
        feats = model.teacher.extract_feat(data['inputs'])
        for stage, (extract, mask) in enumerate(captures):
            (rois, logits), = [(call[0][1], mask.calls[0][1]) for call in extract.calls]
            teacher_logits = model.teacher.roi_head._mask_forward(stage, feats,
                                                                  rois)['mask_preds']
            labels = assigned_labels(rois, data['data_samples'])
            expected += roi_head.stage_loss_weights[stage] * reference_mask_kd(
                logits, teacher_logits, labels, 1.0, 1.0)
    assert distilled['distill_maskkd_loss'].item() == pytest.approx(expected, rel=REL)


@pytest.fixture(scope='module')
def small_configs():
    """Small detector configs (randomly initialised, 3 classes), by name; the Mask R-CNN
    variants change one setting of the mask branch after the shrinking."""
    init_default_scope('mmdet')

    def small(cfg_path, mask_branch=None, **overrides):
        cfg = small_detector(detector_config(dict(cfg_path=cfg_path, **overrides), 'x'), 3)
        for key, change in (mask_branch or {}).items():
            cfg.roi_head[key] = change(cfg.roi_head[key])
        return cfg

    def output_size_7(extractor):
        extractor.roi_layer.output_size = 7
        return extractor

    return dict(
        mask=small(MASK_RCNN, **R18), cascade=small(CASCADE_MASK, **R18),
        solov2=small('mmdet::solov2/solov2-light_r18_fpn_ms-3x_coco.py'),
        rtmdet_ins=small('mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py'),
        faster=small('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', **R18),
        four_classes=small(MASK_RCNN, dict(mask_head=lambda h: dict(h, num_classes=4)), **R18),
        class_agnostic=small(MASK_RCNN, dict(mask_head=lambda h: dict(h, class_agnostic=True)),
                             **R18),
        small_masks=small(MASK_RCNN, dict(mask_roi_extractor=output_size_7), **R18),
        shared_extractor=small(MASK_RCNN, dict(mask_roi_extractor=lambda e: None), **R18))


@pytest.mark.parametrize('detector, message', [
    ('solov2', r'the student \(SOLOv2; mask_head: SOLOV2Head\) has no RoI mask head'),
    ('rtmdet_ins', r'the student \(RTMDet; bbox_head: RTMDetInsSepBNHead\) has no RoI mask'),
])
def test_kernel_mask_heads_are_refused_at_build(small_configs, detector, message):
    with pytest.raises(ValueError, match=message + r'.*feature distiller on .neck.*FitNet'):
        MODELS.build(dict(type='mmkd.DistillationDetector', student=small_configs[detector],
                          teacher=small_configs[detector],
                          distillers=dict(maskkd=dict(type='MaskKD'))))


NECK = spec_levels('neck', [4, 8, 16, 32, 64])


def connect(student, teacher, /, teacher_levels=NECK, **maskkd):
    """A MaskKD of ``maskkd`` set up for two built detectors, given the teacher levels its
    host would probe."""
    return set_up(MODELS.build(dict(type='MaskKD', **maskkd)), None, teacher_levels,
                  student, teacher)


def test_mask_kd_errors_name_the_problem(small_configs):
    models = {name: build_detector(small_configs[name], name) for name in (
        'mask', 'cascade', 'faster', 'four_classes', 'class_agnostic', 'small_masks',
        'shared_extractor')}
    mask, cascade = models['mask'], models['cascade']
    with pytest.raises(ValueError, match=r'the teacher \(FasterRCNN; rpn_head: RPNHead, '
                                         r'roi_head: StandardRoIHead\) has no RoI mask head'):
        connect(mask, models['faster'])
    with pytest.raises(ValueError, match='single-stage RoI head and the teacher a cascade'):
        connect(mask, cascade)
    with pytest.raises(ValueError, match=r"stages \[3\] must be .* 0\.\.2"):
        connect(cascade, cascade, stages=[3])
    with pytest.raises(ValueError, match="'stages' selects cascade stages"):
        connect(mask, mask, stages=[0])
    with pytest.raises(ValueError, match='mask head has 4 classes but the teacher has 3'):
        connect(models['four_classes'], mask)
    with pytest.raises(ValueError, match='class_agnostic=True but the teacher'):
        connect(models['class_agnostic'], mask)
    with pytest.raises(ValueError, match=r'predicts \(14, 14\) masks but the teacher \(28, 28\)'):
        connect(models['small_masks'], mask)
    with pytest.raises(ValueError, match='shares the box RoI extractor'):
        connect(models['shared_extractor'], mask)
    backbone = [FeatureLevel(64 * 2 ** i, 4 * 2 ** i, 'backbone', i) for i in range(4)]
    with pytest.raises(ValueError, match=r"MaskKD: .*reads 256-channel features.*not 'backbone'"):
        connect(mask, mask, backbone, teacher='backbone')
    with pytest.raises(ValueError, match='KDLoss would give 0'):
        MODELS.build(dict(type='MaskKD', loss=dict(type='KDLoss')))
    with pytest.raises(ValueError, match="remove 'student'"):
        MODELS.build(dict(type='MaskKD', student='neck'))
