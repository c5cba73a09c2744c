"""DistillationDetector on real mmdet detectors: training, freezing, schedules, the teacher's
normalisation and checkpoint, starting student parts from the teacher, bad input."""
import copy
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmkd.config import build_detector, detector_config
from mmkd.models import distillation_detector
from mmkd.models.distillation_detector import DistillationDetector
from mmkd.registry import MODELS
from mmkd.testing import small_model, small_run_config

from helpers import FITNET, FITNET_CFG, build_model, one_batch


def mask_pair_config(configs_dir):
    """Mask R-CNN R50 -> R18 with FitNet on the FPN, built from the baseline configs."""
    cfg = Config.fromfile(osp.join(configs_dir, 'baselines/mask-rcnn_r18_fpn_1x_coco.py'))
    cfg.model = dict(
        type='mmkd.DistillationDetector',
        student=cfg.model,
        teacher=osp.join(configs_dir, 'baselines/mask-rcnn_r50_fpn_1x_coco.py'),
        distillers=dict(fitnet=dict(type='FitNet', student='neck', teacher='neck')))
    return cfg


def teacher_state(model):
    return {k: v.clone() for k, v in model.teacher.state_dict().items()}


@pytest.mark.parametrize('pair', ['faster', 'mask'])
def test_training_moves_student_and_adapters_never_teacher(pair, fitnet_cfg, configs_dir,
                                                           shapes_data, tmp_path):
    cfg = fitnet_cfg if pair == 'faster' else mask_pair_config(configs_dir)
    train_checking_only_the_student_learns(
        Runner.from_cfg(small_run_config(cfg, shapes_data, str(tmp_path), max_iters=2)))


def train_checking_only_the_student_learns(runner: Runner) -> None:
    """Train ``runner``; the student and the adapters change, the teacher's weights and
    BN statistics stay bit-identical and it never trains or gets a gradient."""
    model = runner.model
    model.init_weights()  # (train() would do it) so the snapshot is of trained-from weights
    assert model.teacher.training is False
    teacher_before = teacher_state(model)
    student_before = {k: v.clone() for k, v in model.student.state_dict().items()}
    adapters_before = [p.clone() for p in model.distillers.parameters()]
    runner.train()

    for key, value in model.teacher.state_dict().items():  # weights and BN statistics
        assert torch.equal(value, teacher_before[key]), key
    assert all(not p.requires_grad and p.grad is None for p in model.teacher.parameters())
    assert not all(torch.equal(v, student_before[k]) for k, v in model.student.state_dict().items()
                   if v.is_floating_point())
    assert all(not torch.equal(a, b)
               for a, b in zip(adapters_before, model.distillers.parameters()))
    assert not any(m.training for m in model.teacher.modules())


def test_distillation_loss_reaches_student_backbone_and_adapters_only(fitnet_cfg, shapes_data,
                                                                      tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path))
    model = build_model(fitnet_cfg.model)
    model.init_weights()
    data = one_batch(model, run_cfg)
    losses = model.loss(**data)
    assert set(losses) >= {'loss_rpn_cls', 'loss_cls', 'distill_fitnet_loss'}
    losses['distill_fitnet_loss'].backward()

    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.distillers.parameters())
    # (stage 1 is frozen; residual branches start at zero, so look at a shortcut conv)
    assert model.student.backbone.layer2[0].downsample[0].weight.grad.abs().sum() > 0
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    # The heads do not take part in the feature loss.
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.student.roi_head.parameters())


def test_teacher_runs_only_as_far_as_needed(configs_dir):
    cfg = Config.fromfile(osp.join(configs_dir, FITNET_CFG))
    cfg.model.distillers = dict(fitnet=dict(type='FitNet', student='backbone.layer4',
                                            teacher='backbone.layer4'))
    model = build_model(cfg.model)
    calls = []
    model.teacher.neck.register_forward_hook(lambda *args: calls.append('neck'))
    model.teacher.rpn_head.register_forward_hook(lambda *args: calls.append('rpn'))
    model.run_teacher(torch.zeros(1, 3, 64, 64))
    assert calls == []
    cfg.model.distillers.fitnet.update(student='neck', teacher='neck')
    model = build_model(cfg.model)
    model.teacher.neck.register_forward_hook(lambda *args: calls.append('neck'))
    model.teacher.rpn_head.register_forward_hook(lambda *args: calls.append('rpn'))
    model.run_teacher(torch.zeros(1, 3, 64, 64))
    assert calls == ['neck']


def test_predict_is_the_students(fitnet_cfg, shapes_data, tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path))
    model = build_model(fitnet_cfg.model)
    model.init_weights()
    model.eval()
    data = one_batch(model, run_cfg)
    with torch.no_grad():
        ours = model.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        student = model.student.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        teacher_model = build_model(fitnet_cfg.model, eval_model='teacher')
        teacher_model.load_state_dict(model.state_dict())
        teacher_model.eval()
        teacher = teacher_model.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        expected_teacher = model.teacher.predict(data['inputs'],
                                                 copy.deepcopy(data['data_samples']))
    for a, b in zip(ours, student):
        torch.testing.assert_close(a.pred_instances.bboxes, b.pred_instances.bboxes)
        torch.testing.assert_close(a.pred_instances.scores, b.pred_instances.scores)
    for a, b in zip(teacher, expected_teacher):
        torch.testing.assert_close(a.pred_instances.scores, b.pred_instances.scores)


@pytest.mark.parametrize('mode,expected', [
    ('linear', [0.0, 0.25, 0.5, 1.0, 1.0, 0.0]),
    ('step', [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
])
def test_weight_schedule(mode, expected):
    from mmkd.models.distillers import FitNet
    distiller = FitNet('neck', warmup_iters=4, warmup=mode, end_iter=10)
    got = [distiller.schedule_factor(i, 0) for i in (0, 1, 2, 4, 9, 10)]
    assert got == expected
    assert FitNet('neck', end_epoch=2).schedule_factor(100, 2) == 0.0
    assert FitNet('neck', end_epoch=2).schedule_factor(100, 1) == 1.0


def test_inactive_distiller_skips_teacher_and_scales_loss(fitnet_cfg, shapes_data, tmp_path):
    from mmengine.logging import MessageHub
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path))
    model = build_model(fitnet_cfg.model)
    model.distillers.fitnet.warmup_iters, model.distillers.fitnet.warmup = 4, 'linear'
    model.init_weights()
    data = one_batch(model, run_cfg)
    teacher_calls = []
    model.teacher.backbone.register_forward_hook(lambda *args: teacher_calls.append(1))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    losses = model.loss(**data)
    assert teacher_calls == [] and losses['distill_fitnet_loss'].item() == 0
    losses['distill_fitnet_loss'].backward()  # the zero loss still reaches every adapter
    assert all(p.grad is not None for p in model.distillers.parameters())
    hub.update_info('iter', 2)
    half = model.loss(**data)['distill_fitnet_loss']
    hub.update_info('iter', 4)
    full = model.loss(**data)['distill_fitnet_loss']
    hub.update_info('iter', 0)
    assert teacher_calls == [1, 1]
    torch.testing.assert_close(half * 2, full)


def test_teacher_data_preprocessor_renormalises(fitnet_cfg, shapes_data, tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path))
    teacher_norm = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
    model = build_model(fitnet_cfg.model, teacher_data_preprocessor=teacher_norm)
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(run_cfg.train_dataloader.dataset)
    raw = pseudo_collate([dataset[0], dataset[1]])
    data = model.data_preprocessor(copy.deepcopy(raw), False)
    converted = model.teacher_inputs(data['inputs'], data['data_samples'])
    for i, image in enumerate(raw['inputs']):  # BGR uint8 as loaded
        h, w = data['data_samples'][i].img_shape
        expected = (image.float() - torch.tensor(teacher_norm['mean']).view(3, 1, 1))
        torch.testing.assert_close(converted[i, :, :h, :w], expected, atol=1e-3, rtol=0)
        assert converted[i, :, h:, :].abs().sum() == 0 and converted[i, :, :, w:].abs().sum() == 0
    with pytest.raises(ValueError, match='mean, std and bgr_to_rgb'):
        build_model(fitnet_cfg.model, teacher_data_preprocessor=dict(mean=[0, 0, 0]))


@pytest.mark.parametrize('overrides,match', [
    (dict(student='backbone.layer9'),
     r"student .*no submodule 'backbone.layer9'.*backbone.layer4"),
    (dict(teacher='neck[1:2:3]'), 'Invalid feature spec'),
    (dict(student='backbone.layer4', teacher='backbone.layer4', adapter_kernel=None),
     '512 channels on the student but 2048 on the teacher'),
    (dict(student='backbone.layer3', teacher='backbone.layer4'), 'different strides'),
    (dict(student='neck', teacher='neck[:4]'), '5 level.*4'),
    (dict(student='neck', teacher='rpn_head.rpn_conv'),
     "outside the teacher's backbone and neck"),
    (dict(direction='teacher<-student'), 'MutualDistillationDetector'),
], ids=['unknown layer', 'bad spec', 'channels', 'strides', 'level count',
        'teacher head feature', 'online-only option'])
def test_bad_distiller_config_is_refused_at_build(fitnet_cfg, overrides, match):
    cfg = copy.deepcopy(fitnet_cfg.model)
    cfg.distillers.fitnet.update(overrides)
    with pytest.raises(ValueError, match=match):
        build_model(cfg)


def test_missing_teacher_checkpoint(fitnet_cfg, tmp_path):
    cfg = small_model(fitnet_cfg.model, 3)
    cfg.teacher_ckpt = str(tmp_path / 'nope.pth')
    cfg.pop('type')
    with pytest.raises(FileNotFoundError, match='nope.pth.*does not exist'):
        DistillationDetector(**cfg)


def test_teacher_checkpoint_loads_and_survives_init_weights(fitnet_cfg, tmp_path):
    donor = build_model(fitnet_cfg.model)
    donor.init_weights()
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=donor.teacher.state_dict(), meta=dict()), path)
    model = build_model(fitnet_cfg.model, teacher_ckpt=path)
    model.init_weights()
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, donor.teacher.state_dict()[key]), key

    # A checkpoint of another architecture: strict refuses, listing keys.
    torch.save(dict(state_dict=donor.student.state_dict()), path)
    with pytest.raises(ValueError, match='missing keys .*unexpected keys.*shape-mismatched'):
        build_model(fitnet_cfg.model, teacher_ckpt=path)
    build_model(fitnet_cfg.model, teacher_ckpt=path, teacher_ckpt_strict=False)

    # A distillation checkpoint given as teacher: told to export first.
    torch.save(dict(state_dict=donor.state_dict()), path)
    with pytest.raises(ValueError, match='export_student'):
        build_model(fitnet_cfg.model, teacher_ckpt=path)


def test_empty_distillers_refused(fitnet_cfg):
    cfg = copy.deepcopy(fitnet_cfg.model)
    cfg.distillers = dict()
    with pytest.raises(ValueError, match='non-empty dict'):
        build_model(cfg)


CAFFE_TEACHER = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py'


def _batch(model, sizes=((64, 48), (56, 64))):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    generator = torch.Generator().manual_seed(0)
    images, samples = [], []
    for height, width in sizes:
        images.append(torch.randint(0, 256, (3, height, width), generator=generator,
                                    dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(height, width),
                                             ori_shape=(height, width), scale_factor=(1, 1)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[4., 4., 30., 40.]]),
                                           labels=torch.tensor([1]))
        samples.append(sample)
    return images, model.data_preprocessor(dict(inputs=images, data_samples=samples), True)


def _caffe_student_model(**kwargs):
    from mmkd.testing import small_model
    cfg = Config.fromfile(FITNET)
    cfg.model.teacher = dict(cfg_path=CAFFE_TEACHER)
    model_cfg = small_model(cfg.model, num_classes=3)
    model_cfg.update(kwargs)
    from mmengine.registry import MODELS
    return MODELS.build(model_cfg)


def test_caffe_teacher_gets_its_own_normalisation(shapes_data):
    with mock.patch('mmkd.models.distillation_detector.print_log') as log:
        model = _caffe_student_model()
    assert log.call_count == 1 and 'mean [103.53, 116.28, 123.675], std [1.0, 1.0, 1.0], ' \
        'bgr_to_rgb False' in log.call_args[0][0]
    images, batch = _batch(model)
    expected = torch.zeros_like(batch['inputs'])  # caffe: BGR as loaded, minus mean, std 1
    caffe_mean = torch.tensor([103.53, 116.28, 123.675]).view(3, 1, 1)
    for target, image in zip(expected, images):
        target[:, :image.shape[1], :image.shape[2]] = image.float() - caffe_mean
    seen = []
    model.teacher.backbone.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model.train()
    model.loss(batch['inputs'], batch['data_samples'])
    assert len(seen) == 1 and seen[0].shape == expected.shape
    torch.testing.assert_close(seen[0], expected, atol=2e-4, rtol=0)
    assert not torch.equal(batch['inputs'], seen[0])  # the student's batch is pytorch-style


def test_explicit_teacher_data_preprocessor_overrides():
    pytorch_style = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True)
    model = _caffe_student_model(teacher_data_preprocessor=pytorch_style)
    _, batch = _batch(model)
    torch.testing.assert_close(model.teacher_inputs(batch['inputs'], batch['data_samples']),
                               batch['inputs'], atol=1e-5, rtol=0)


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


# ------------------------------------------------ a config's top-level data_preprocessor
def test_the_top_level_data_preprocessor_fills_in_or_is_named_when_it_differs(
        fitnet_cfg, shapes_data, tmp_path):
    """A student without its own preprocessor takes the model-level one; a different one
    is named in a warning while the student's own is used, as mmdet does."""
    model_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path)).model
    student = detector_config(model_cfg.student, 'student')
    own = student.pop('data_preprocessor')
    given = dict(copy.deepcopy(own), mean=[0., 0., 0.], std=[255., 255., 255.])
    built = MODELS.build(dict(model_cfg, student=student, data_preprocessor=given))
    assert built.data_preprocessor.std.flatten().tolist() == [255., 255., 255.]

    with mock.patch.object(distillation_detector, 'print_log',
                           wraps=distillation_detector.print_log) as log:
        built = MODELS.build(dict(model_cfg, data_preprocessor=given))
    assert built.data_preprocessor.std.flatten().tolist() == pytest.approx(own['std'])
    warnings = [c.args[0] for c in log.call_args_list if 'data_preprocessor' in c.args[0]]
    assert len(warnings) == 1 and "the student's is used" in warnings[0]
    assert 'model.student.data_preprocessor' in warnings[0]


# Unit roundoff u (half the gap between 1.0 and the next number) of the half types: bf16
# keeps 8 significant bits, fp16 11.
UNIT_ROUNDOFF = {'bf16': 2.0 ** -8, 'fp16': 2.0 ** -11}


def _fitnet_inputs_and_loss(model, data):
    """The teacher features FitNet receives in one ``loss`` call, whether the teacher ran
    under autocast, and FitNet's loss."""
    received, autocast = [], []
    handles = [
        model.distillers.fitnet.register_forward_pre_hook(
            lambda module, args: received.extend(args[1])),
        model.teacher.backbone.register_forward_pre_hook(
            lambda module, args: autocast.append(torch.is_autocast_enabled('cpu')))]
    try:
        losses = model.loss(**data)
    finally:
        for handle in handles:
            handle.remove()
    return received, autocast, losses


@pytest.mark.parametrize('precision', ['bf16', 'fp16'])
def test_half_precision_teacher_features_are_float32_and_close(precision, fitnet_cfg,
                                                               shapes_data, tmp_path):
    """Tolerance: autocast rounds each conv's input and weights to the half type (relative
    error up to u each) and accumulates in float32, so every layer adds an error of order u
    to its output. Over R101 + FPN these roundings are independent and largely cancel: the
    feature maps' relative error (in norm) measures about 1.5u for both types. The bounds
    u/4 < error < 4u also tell bf16 from fp16 (u differs by 8x). FitNet's MSE changes, to
    first order, by 2<s - t, dt>/|s - t|^2 relative, at most twice the features' relative
    error times |t|/|s - t|, which is below 1 for an untrained student: within 4u too."""
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path), image_size=64)
    reference = build_model(fitnet_cfg.model)
    reference.init_weights()
    half = build_model(fitnet_cfg.model, teacher_precision=precision)
    half.load_state_dict(reference.state_dict())
    data = one_batch(reference, run_cfg)
    expected_feats, expected_autocast, expected = _fitnet_inputs_and_loss(reference, data)
    feats, autocast, losses = _fitnet_inputs_and_loss(half, data)

    assert expected_autocast == [False] and autocast == [True]
    unit_roundoff = UNIT_ROUNDOFF[precision]
    assert len(feats) == len(expected_feats) == 5
    for level, (got, want) in enumerate(zip(feats, expected_feats)):
        assert got.dtype == torch.float32, level
        error = ((got - want).norm() / want.norm()).item()
        assert unit_roundoff / 4 < error < 4 * unit_roundoff, (level, error)
    assert losses['distill_fitnet_loss'].dtype == torch.float32
    torch.testing.assert_close(losses['distill_fitnet_loss'], expected['distill_fitnet_loss'],
                               rtol=4 * unit_roundoff, atol=0)


def test_bf16_teacher_training_leaves_teacher_unchanged(fitnet_cfg, shapes_data, tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path), image_size=64)
    run_cfg.model.teacher_precision = 'bf16'
    train_checking_only_the_student_learns(Runner.from_cfg(run_cfg))


def test_fp32_teacher_precision_is_the_default_step(fitnet_cfg, shapes_data, tmp_path):
    run_cfg = small_run_config(fitnet_cfg, shapes_data, str(tmp_path), image_size=64)
    default = build_model(fitnet_cfg.model)
    default.init_weights()
    fp32 = build_model(fitnet_cfg.model, teacher_precision='fp32')
    fp32.load_state_dict(default.state_dict())
    data = one_batch(default, run_cfg)
    torch.manual_seed(0)  # the heads' samplers draw at random
    expected_feats, _, expected = _fitnet_inputs_and_loss(default, data)
    torch.manual_seed(0)
    feats, autocast, losses = _fitnet_inputs_and_loss(fp32, data)

    assert autocast == [False]
    assert all(torch.equal(a, b) for a, b in zip(feats, expected_feats))
    assert set(losses) == set(expected)
    for key, value in losses.items():
        assert all(torch.equal(a, b) for a, b in zip(
            value if isinstance(value, list) else [value],
            expected[key] if isinstance(value, list) else [expected[key]])), key


def test_bad_teacher_precision_refused(fitnet_cfg):
    with pytest.raises(ValueError, match=r"teacher_precision must be one of \('fp32', 'fp16', "
                                         r"'bf16'\), got 'half'"):
        build_model(fitnet_cfg.model, teacher_precision='half')
    cfg = small_model(fitnet_cfg.model, 3)
    cfg.pop('type')
    with pytest.raises(ValueError, match="trains its teacher, so teacher_precision must be "
                                         "'fp32' .*AmpOptimWrapper"):
        MODELS.build(dict(type='mmkd.MutualDistillationDetector', teacher_precision='bf16',
                          **cfg))
