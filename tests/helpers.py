"""Independent reference computations shared by the tests, the float32 tolerances they are
compared with, and the small builders and runners several test files use."""
import math
import os
import os.path as osp
import subprocess
import sys

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmkd.models.distillation_detector import DistillationDetector
from mmkd.models.distillers import DistillerContext
from mmkd.models.recorder import FeatureLevel
from mmkd.registry import MODELS
from mmkd.testing import small_model, small_run_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FITNET = osp.join(ROOT, 'configs/demo/faster-rcnn_fitnet.py')
FITNET_CFG = 'fitnet/faster-rcnn_r101-r18_fpn_1x_coco.py'
FLOAT32_EPS = torch.finfo(torch.float32).eps
DEMO_METHODS = ('pkd', 'cwd', 'mgd', 'fgd')
IMAGE_SIZE = 64
R18 = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
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


# ------------------------------------------------------------------ reference values
def manual_kd(student_logits, teacher_logits, temperature, weight):
    """KL(p_t || p_s) with p = softmax(z / T), averaged over rows, times weight * T^2,
    written out with exp/log on float64 python numbers (no torch softmax or kl_div)."""
    s = student_logits.detach().double() / temperature
    t = teacher_logits.detach().double() / temperature
    total = 0.
    for s_row, t_row in zip(s.tolist(), t.tolist()):
        zs = sum(math.exp(v) for v in s_row)
        zt = sum(math.exp(v) for v in t_row)
        p_t = [math.exp(v) / zt for v in t_row]
        p_s = [math.exp(v) / zs for v in s_row]
        total += sum(pt * (math.log(pt) - math.log(ps)) for pt, ps in zip(p_t, p_s))
    return weight * temperature ** 2 * total / len(s)


def kd_rounding_tolerance(student_logits, teacher_logits, temperature, weight):
    """How far a float32 computation of :func:`manual_kd` may be from the float64 value.

    The KL of two close distributions is a small difference of large terms
    ``p_t * log p_t - p_t * log p_s``: each float32 log-probability carries a rounding
    error of a few ulps of its own magnitude (log-sum-exp: subtraction, exp, sum, log),
    which does not shrink with the KL. The bound is 8 ulps of the summed magnitudes
    ``sum_c p_t (|log p_t| + |log p_s|)`` per row, averaged like the loss and scaled by
    ``weight * T^2``. The order of the reductions (and so the thread count) moves the
    result within this bound; a wrong temperature, weight or normaliser moves it by far
    more (in the cascade test the KL is over 20x the bound).
    """
    log_s = F.log_softmax(student_logits.detach().double() / temperature, dim=1)
    log_t = F.log_softmax(teacher_logits.detach().double() / temperature, dim=1)
    magnitude = (log_t.exp() * (log_t.abs() + log_s.abs())).sum(dim=1).mean().item()
    return 8 * FLOAT32_EPS * weight * temperature ** 2 * magnitude


def mse(a, b):
    return ((a - b) ** 2).sum().item() / a.numel()


def adaptive_pool(x, size):
    """Adaptive average pooling by its definition: bin i covers [floor(i*H/l), ceil((i+1)*H/l))."""
    n, c, h, w = x.shape
    out = torch.empty(n, c, size, size, dtype=x.dtype)
    for i in range(size):
        r0, r1 = (i * h) // size, -((-(i + 1) * h) // size)
        for j in range(size):
            c0, c1 = (j * w) // size, -((-(j + 1) * w) // size)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(dim=(2, 3))
    return out


def hcl_reference(s, t, pool_sizes=(4, 2, 1)):
    terms = [(1.0, mse(s, t))]
    weight = 1.0
    for size in pool_sizes:
        if size < s.shape[2]:
            weight /= 2
            terms.append((weight, mse(adaptive_pool(s, size), adaptive_pool(t, size))))
    return sum(w * v for w, v in terms) / sum(w for w, _ in terms)


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} of {len(a)} differ, e.g. {different[:3]}'


# ------------------------------------------------------------- distillers and levels
def set_up(distiller, student_levels, teacher_levels, student=None, teacher=None):
    """Set ``distiller`` up as its host would, on given levels (no probe, no pairing);
    ``student``/``teacher`` stand in for the detectors where the distiller reads them."""
    distiller.setup(DistillerContext(student, teacher, distiller.student_specs,
                                     distiller.teacher_specs, student_levels, teacher_levels))
    return distiller


def levels(*channels_strides):
    """Neck levels of the given (channels, stride) pairs."""
    return [FeatureLevel(c, s, 'neck', i) for i, (c, s) in enumerate(channels_strides)]


def spec_levels(spec, strides, channels=256):
    """Levels of module ``spec`` at the given strides, all with ``channels`` channels."""
    return [FeatureLevel(channels, stride, spec, i) for i, stride in enumerate(strides)]


class Capture:
    """Forward hook keeping every call's positional inputs and output."""

    def __init__(self, module):
        self.calls = []
        self.handle = module.register_forward_hook(
            lambda m, args, out: self.calls.append((args, out)))

    def remove(self):
        self.handle.remove()


# ---------------------------------------------------------------- configs and models
def demo_config(configs_dir, method):
    return osp.join(configs_dir, 'demo', f'faster-rcnn_{method}.py')


def fgfi_config_path(configs_dir, name):
    return osp.join(configs_dir, 'fgfi', name + '.py')


def fitnet_config(data, work_dir, max_iters, **model):
    """The demo's small FitNet pair at 64 px as a run config of ``max_iters`` iterations."""
    cfg = small_run_config(FITNET, data, str(work_dir), max_iters=max_iters, image_size=64)
    cfg.model.update(model)
    return cfg


def distillation_config(student, teacher, distillers) -> Config:
    return Config(dict(model=dict(type='mmkd.DistillationDetector', student=student,
                                  teacher=teacher, distillers=distillers),
                       default_hooks=dict()))


def build_model(model_cfg, num_classes=3, **overrides) -> DistillationDetector:
    cfg = small_model(model_cfg, num_classes)
    cfg.update(overrides)
    cfg.pop('type')
    return DistillationDetector(**cfg)


def one_batch(model, runner_cfg):
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(runner_cfg.train_dataloader.dataset)
    data = pseudo_collate([dataset[0], dataset[1]])
    return model.data_preprocessor(data, True)


def build(cfg):
    """The model of run config ``cfg`` (weights initialised) and one training batch, not
    yet preprocessed."""
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    return model, batch


def build_small_raw(config, data, tmp_path, **model_overrides):
    """The model and one training batch (not yet preprocessed) of ``config`` shrunk by
    small_run_config."""
    init_default_scope('mmdet')
    cfg = small_run_config(config, data, str(tmp_path))
    cfg.model.update(model_overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return model, next(iter(loader))


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


# ------------------------------------------------------------------------ tools and files
def run_tool(*args, expect_ok=True):
    """Run a script of the repository (``tools/train.py`` ...) in a fresh interpreter with
    this checkout first on the path; check it succeeds (or fails, with
    ``expect_ok=False``) and return its stdout and stderr."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == expect_ok, f'{args}:\n{output[-4000:]}'
    return output


def dump(cfg, path):
    path = str(path)
    cfg.dump(path)
    return path


def load(path):
    return torch.load(path, weights_only=True)
