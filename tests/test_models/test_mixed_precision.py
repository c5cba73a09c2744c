"""Mixed precision: every loss computes in float32 from half precision inputs, every method
trains under CPU bfloat16 autocast with the float32 step's distillation losses, and the
non-finite guard leaves gradient overflows to the loss scaler but still stops a NaN loss."""
import contextlib
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.runner import Runner

from mmkd.engine import NonFiniteError
from mmkd.models.nonfinite import NonFiniteLossGuard
from mmkd.registry import MODELS
from mmkd.testing import small_run_config

# Unit roundoff of bfloat16 (8 significant bits) and the machine epsilon of float32.
BF16_UNIT_ROUNDOFF = 2.0 ** -8
FLOAT32_EPS = torch.finfo(torch.float32).eps

# (name, distiller config, pair) trained under autocast: a new method is one more line.
# Pairs: 'retinanet', the demo's (a quarter-width R18 student, a half-width R34 teacher,
# FPN P3..P7); 'gfl', mmdet's GFL with an R18 student and an R50 teacher (heads shrunk),
# for the methods that need its box distributions. Temperatures other than 1 so that they
# are exercised.
METHODS = [
    ('fitnet', dict(type='FitNet', student='neck', teacher='neck'), 'retinanet'),
    ('reviewkd', dict(type='ReviewKD', student='neck', teacher='neck', mid_channels=64),
     'retinanet'),
    ('fgfi', dict(type='FGFI', student='neck', teacher='neck', warmup_iters=0), 'retinanet'),
    ('kd', dict(type='KD', teacher='neck', loss=dict(type='BinaryKDLoss', temperature=2.0)),
     'retinanet'),
    ('pkd', dict(type='PKD', student='neck', teacher='neck'), 'retinanet'),
    ('cwd', dict(type='CWD', student='neck', teacher='neck',
                 loss=dict(type='ChannelWiseDivergenceLoss', tau=2.0)), 'retinanet'),
    ('mgd', dict(type='MGD', student='neck', teacher='neck'), 'retinanet'),
    ('fgd', dict(type='FGD', student='neck', teacher='neck'), 'retinanet'),
    ('crosskd', dict(type='CrossKD', teacher='neck', student_convs=1, channel_adapter=True),
     'retinanet'),
    ('bckd', dict(type='BCKD', teacher='neck'), 'retinanet'),
    ('ld', dict(type='LD', teacher='neck',
                loss=dict(type='LocalizationKDLoss', temperature=5.0)), 'gfl'),
]
GFL = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'
R18 = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))


class CPUBF16OptimWrapper(OptimWrapper):
    """What mmengine's AmpOptimWrapper does, on the CPU it refuses: the forward under
    bfloat16 autocast (no loss scaling: bfloat16 has float32's range)."""

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield


def distillation_pair(pair, configs_dir, shapes_data, tmp_path, distillers):
    """``pair`` (see METHODS) with ``distillers`` at 128 px: the model (weights
    initialised, seed 0) and one raw training batch.

    Not 64 px: there P6 is 1 x 1, and the weight gradient of P7's 3x3 stride-2 conv on it
    is garbage (NaN or ~1e34, varying from run to run) under CPU bfloat16 autocast in
    torch 2.13 (a 3x3 stride-2 conv on a 1 x 1 input alone shows it in most runs)."""
    if pair == 'retinanet':
        cfg = Config.fromfile(osp.join(configs_dir, 'demo', 'retinanet_fitnet.py'))
        cfg.model.distillers = distillers
    else:
        cfg = Config(dict(model=dict(type='mmkd.DistillationDetector',
                                     student=dict(cfg_path=GFL, **R18), teacher=GFL,
                                     distillers=distillers), default_hooks=dict()))
    cfg = small_run_config(cfg, shapes_data, str(tmp_path), image_size=128)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # An untrained teacher's classifier starts on the student's prior (bias -4.6, p =
    # 0.01), where |sigmoid(t) - sigmoid(s)| (BCKD's and CrossKD's quality-focal factor)
    # is a difference of nearly equal numbers that the logits' bfloat16 rounding swamps
    # (10 % off); a trained teacher's probabilities differ from the student's, as with 0.
    head = model.teacher.bbox_head
    (head.retina_cls if pair == 'retinanet' else head.gfl_cls).bias.data.zero_()
    model.train()
    return model, next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))


def sgd(model):
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)


@pytest.mark.parametrize('name, distiller, pair', METHODS,
                         ids=[name for name, _, _ in METHODS])
def test_bf16_autocast_training_matches_the_float32_step(name, distiller, pair, configs_dir,
                                                         shapes_data, tmp_path):
    """Two training steps under CPU bfloat16 autocast; the first step's distillation
    losses are float32 and within 2u (u = 2^-8, bfloat16's unit roundoff; 8u for the box
    terms) of the float32 step's from the same weights and batch.

    Tolerance: autocast rounds the inputs and weights of every convolution (of student,
    teacher, adapters, generators) to bfloat16 and accumulates in float32, so each layer
    adds a relative error of order u; over these small networks the feature maps' relative
    error is about u. Teacher and student are unrelated random networks, so |s - t| is of
    the order of |s| and the losses inherit that relative error without amplification;
    measured: at most 0.75u. The box terms (BCKD's, CrossKD's GIoU of decoded boxes) take
    the exponential of the regression outputs, rounded to bfloat16 by their conv, which
    multiplies that relative error by the log size ratio, up to ln(1000 / 16) = 4.1 where
    mmdet's decoder clips it: measured up to 4.7u. The float32 check is what fails for a
    loss that computes in bfloat16 itself (CWD's, MGD's and FGD's did); its rounding also
    moved CWD's value by 3u on 64-px inputs.
    """
    model, batch = distillation_pair(pair, configs_dir, shapes_data, tmp_path,
                                     {name: distiller})
    state = copy.deepcopy(model.state_dict())
    torch.manual_seed(0)  # with gradients: CrossKD's head features are recorded only then
    expected = model.loss(**model.data_preprocessor(batch, True))
    keys = [key for key in expected if key.startswith('distill_')]
    assert keys and all(expected[key].dtype == torch.float32 for key in keys)

    model.load_state_dict(state)
    wrapper = CPUBF16OptimWrapper(sgd(model))
    torch.manual_seed(0)
    first = model.train_step(batch, wrapper)
    second = model.train_step(batch, wrapper)

    for key in keys:
        assert first[key].dtype == torch.float32, key
        rtol = (8 if key.endswith('_box') else 2) * BF16_UNIT_ROUNDOFF
        torch.testing.assert_close(first[key], expected[key].detach(), rtol=rtol, atol=0)
        assert torch.isfinite(second[key]), key
    trained = model.state_dict()
    assert all(torch.equal(trained[k], state[k]) for k in trained if k.startswith('teacher.'))
    assert any(not torch.equal(p, state[f'student.{k}'])
               for k, p in model.student.named_parameters())


# --------------------------------------------------------------------- the losses alone
def _levels(dtype, scale, sizes=(8, 4), channels=16, batch=2):
    """Per-level (student, teacher) features: random, times ``scale``, rounded to
    ``dtype``."""
    generator = torch.Generator().manual_seed(0)
    return [tuple((scale * torch.randn(batch, channels, size, size, generator=generator))
                  .to(dtype) for _ in range(2)) for size in sizes]


def _feature_call(loss_cfg):
    def call(levels):
        student, teacher = zip(*levels)
        return MODELS.build(loss_cfg)(list(student), list(teacher))
    return call


def _imitation_call(levels):
    student, teacher = zip(*levels)
    masks = [(torch.arange(s[:, 0].numel()) % 3 == 0).view(s[:, 0].shape) for s in student]
    return MODELS.build(dict(type='ImitationLoss'))(list(student), list(teacher), masks)


def _fgd_call(levels):
    student, teacher = zip(*levels)
    fg = [torch.rand(s[:, 0].shape, generator=torch.Generator().manual_seed(1)) for s in student]
    bg = [1 - m for m in fg]
    # the context blocks' outputs: other values of the same type (flipping is exact)
    student_global = [s.flip(-1) for s in student]
    teacher_global = [t.flip(-2) for t in teacher]
    losses = MODELS.build(dict(type='FGDLoss', alpha=1., beta=1., gamma=1., lambda_=1.))(
        list(student), list(teacher), fg, bg, student_global, teacher_global)
    return torch.stack(list(losses.values()))


def _logit_call(loss_type, temperature=2.0):
    def call(levels):
        # rows of class logits: (N*H*W, C) of the first level
        student, teacher = (x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]) for x in levels[0])
        options = {} if temperature is None else dict(temperature=temperature)
        return MODELS.build(dict(type=loss_type, **options))(student, teacher)
    return call


def _box_call(levels):
    # (N, 4) boxes of up to a few thousand px a side (areas beyond float16's largest
    # value) from the first level's values, by operations exact in every type: |v| * 32,
    # then of two values the smaller as x1 (y1), the larger as x2 (y2)
    pairs = [(x.flatten()[:512].abs() * 32).view(-1, 2, 2) for x in levels[0]]
    student, teacher = (torch.cat([p.amin(dim=1), p.amax(dim=1)], dim=1) for p in pairs)
    return MODELS.build(dict(type='IoUKDLoss', mode='giou'))(student, teacher)


def _bins_call(levels):
    # (N, 16) box-edge distribution logits
    student, teacher = (x.flatten()[:512].view(-1, 16) for x in levels[0])
    return MODELS.build(dict(type='LocalizationKDLoss', temperature=10.))(student, teacher)


LOSSES = {
    'FeatureMSELoss': _feature_call(dict(type='FeatureMSELoss')),
    'HCLLoss': _feature_call(dict(type='HCLLoss')),
    'ImitationLoss': _imitation_call,
    'KDLoss': _logit_call('KDLoss'),
    'BinaryKDLoss': _logit_call('BinaryKDLoss'),
    'PKDLoss': _feature_call(dict(type='PKDLoss')),
    'ChannelWiseDivergenceLoss': _feature_call(dict(type='ChannelWiseDivergenceLoss', tau=2.)),
    'MGDLoss': _feature_call(dict(type='MGDLoss', loss_weight=1.)),
    'FGDLoss': _fgd_call,
    'QualityFocalKDLoss': _logit_call('QualityFocalKDLoss', temperature=None),
    'IoUKDLoss': _box_call,
    'LocalizationKDLoss': _bins_call,
}


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16], ids=['bf16', 'fp16'])
@pytest.mark.parametrize('name', list(LOSSES))
def test_loss_computes_in_float32_from_half_inputs(name, dtype):
    """Each loss on half precision inputs (under CPU bfloat16 autocast for bfloat16) gives
    a float32 value equal, to float32 rounding, to the same loss on the same values in
    float64. The features are scaled by 30 so that sums of squares over a level exceed
    float16's largest value (65504).

    Tolerance: 64 float32 epsilons (8e-6) relative: the float32 sums here add at most a
    few thousand terms of one sign, whose rounding errors grow like their square root
    (measured: below 2e-7). Computed in the half type itself, a loss is off by about its
    unit roundoff (4e-3 bfloat16, 5e-4 float16) or overflows to inf in float16.
    """
    levels = _levels(dtype, scale=30.)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
        loss = LOSSES[name](levels)
    expected = LOSSES[name]([tuple(x.double() for x in level) for level in levels])
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), expected, rtol=64 * FLOAT32_EPS, atol=0)


def test_gradients_flow_back_to_half_precision_inputs():
    student, teacher = _levels(torch.bfloat16, scale=1.)[0]
    student.requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = MODELS.build(dict(type='ChannelWiseDivergenceLoss'))([student], [teacher])
    loss.backward()
    assert student.grad.dtype == torch.bfloat16 and student.grad.abs().sum() > 0


# ------------------------------------------------------- the loss scaler and the guard
@pytest.fixture
def cpu_amp_wrapper(monkeypatch):
    """mmengine's AmpOptimWrapper on the CPU: its device check passed, its CUDA loss
    scaler replaced by torch's CPU one (same dynamic scaling: a step whose gradients are
    not finite is skipped and the scale multiplied by ``backoff_factor``). Its forward
    runs under mmengine's autocast, bfloat16 on the CPU."""
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)

    def make(model, init_scale=2.**16, backoff_factor=0.5):
        wrapper = AmpOptimWrapper(optimizer=sgd(model))
        wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale,
                                                   backoff_factor=backoff_factor)
        return wrapper
    return make


@pytest.fixture(scope='module')
def fitnet_pair(configs_dir, shapes_data, tmp_path_factory):
    model, batch = distillation_pair('retinanet', configs_dir, shapes_data,
                                     tmp_path_factory.mktemp('fitnet'),
                                     dict(fitnet=METHODS[0][1]))
    return model, batch, copy.deepcopy(model.state_dict())


@pytest.fixture
def fitnet_retinanet(fitnet_pair):
    """The FitNet RetinaNet pair at its initial weights, with a fresh guard."""
    model, batch, state = fitnet_pair
    model.load_state_dict(state)
    model.loss_guard = NonFiniteLossGuard()
    return model, batch


@pytest.mark.parametrize('nonfinite', ['stop', 'skip'])
def test_a_gradient_overflow_is_the_loss_scalers_to_skip(nonfinite, cpu_amp_wrapper,
                                                         fitnet_retinanet):
    """As in float16 training when the scaled loss overflows in backward: the loss is
    finite, a gradient is inf. The guard lets the step through (it checks the losses,
    unscaled), the scaler skips the update and lowers its scale, and the next step
    trains; in 'skip' mode the guard counts no skipped step of its own."""
    model, batch = fitnet_retinanet
    model.loss_guard = NonFiniteLossGuard(nonfinite)
    wrapper = cpu_amp_wrapper(model, init_scale=1024., backoff_factor=0.25)
    weight = model.student.neck.fpn_convs[0].conv.weight
    overflow = weight.register_hook(lambda grad: grad * float('inf'))
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(batch, wrapper)
    overflow.remove()

    assert all(torch.isfinite(value) for value in log_vars.values())
    assert wrapper.loss_scaler.get_scale() == 256.
    trained = model.state_dict()
    assert all(torch.equal(trained[k], before[k]) for k, p in model.named_parameters())
    assert model.loss_guard.total_skips == 0

    model.train_step(batch, wrapper)
    assert wrapper.loss_scaler.get_scale() == 256.
    assert not torch.equal(weight, before['student.neck.fpn_convs.0.conv.weight'])


def test_a_nan_loss_still_stops_under_the_loss_scaler(cpu_amp_wrapper, fitnet_retinanet,
                                                      monkeypatch):
    model, batch = fitnet_retinanet
    monkeypatch.setattr(model.distillers.fitnet.loss, 'loss_weight', float('nan'))
    wrapper = cpu_amp_wrapper(model)
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(NonFiniteError, match=r'Non-finite loss at iteration \d+: loss=nan, '
                                             r'distill_fitnet_loss=nan'):
        model.train_step(batch, wrapper)
    trained = model.state_dict()
    assert all(torch.equal(trained[k], before[k]) for k, _ in model.named_parameters())
    assert wrapper.loss_scaler.get_scale() == 2.**16  # the scaler never saw the step
