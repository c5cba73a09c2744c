"""Pairing student and teacher levels by stride: the rules, and heterogeneous necks on real
detectors."""
import pytest
import torch
from mmengine.logging import MMLogger

from mmkd.models.level_pairing import pair_levels_by_stride
from mmkd.models.recorder import FeatureSpec

from helpers import R18, build_small, distillation_config, spec_levels, train_one_step


class Specs:
    def __init__(self, student, teacher):
        self.student_specs = [FeatureSpec.parse(student)]
        self.teacher_specs = [FeatureSpec.parse(teacher)]


def pair(specs, student_levels, teacher_levels):
    return pair_levels_by_stride(specs.student_specs, specs.teacher_specs, student_levels,
                                 teacher_levels, 'FitNet')


def test_stride_pairing_rules():
    distiller = Specs('neck', 'neck')
    paired = pair(distiller, spec_levels('neck', [8, 16, 32, 64, 128]),
                  spec_levels('neck', [4, 8, 16, 32, 64]))
    student, teacher = paired.student_levels, paired.teacher_levels
    assert [str(s) for s in paired.student_specs] == ['neck[:4]']
    assert [str(s) for s in paired.teacher_specs] == ['neck[1:]']
    assert [level.stride for level in student] == [level.stride for level in teacher] \
        == [8, 16, 32, 64]
    assert [level.index for level in teacher] == [0, 1, 2, 3]
    # Explicit slices and equal strides are left alone.
    for specs in (Specs('neck[:4]', 'neck[1:]'), Specs('neck', 'neck')):
        before = (list(specs.student_specs), list(specs.teacher_specs))
        same = spec_levels('neck', [8, 16])
        paired = pair(specs, same, same)
        assert (paired.student_levels, paired.teacher_levels) == (same, same)
        assert (paired.student_specs, paired.teacher_specs) == before
    with pytest.raises(ValueError, match='different strides, none shared'):
        pair(Specs('neck', 'neck'), spec_levels('neck', [8, 16]), spec_levels('neck', [4]))
    # Different modules (neck vs backbone) are never re-paired: their level lists are
    # checked as written by the distiller.
    specs = Specs('neck', 'backbone')
    student = spec_levels('neck', [4, 8, 16, 32, 64])
    teacher = spec_levels('backbone', [4, 8, 16, 32])
    paired = pair(specs, student, teacher)
    assert (paired.student_levels, paired.teacher_levels) == (student, teacher)
    with pytest.raises(ValueError, match='explicit slices'):
        pair(Specs('neck', 'neck'), spec_levels('neck', [8, 16, 32]),
             spec_levels('neck', [8, 32, 64]))


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
