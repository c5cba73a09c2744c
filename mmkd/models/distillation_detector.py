"""The model users put in ``model = dict(type='mmkd.DistillationDetector', ...)``."""
import contextlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import Tensor, nn

from ..checkpoint import load_teacher_checkpoint
from ..config import DetectorConfig, build_detector, detector_config
from ..registry import MODELS
from .distillers import BaseDistiller, DistillerContext
from .level_pairing import pair_levels_by_stride
from .loss_balance import build_loss_balance, total_loss
from .nonfinite import NonFiniteLossGuard
from .recorder import FeatureLevel, FeatureRecorder, get_submodule, probe_feature_levels
from .reliability import warn_without_reliability_hooks

# teacher_precision -> the dtype the teacher's forward autocasts to (None: no autocast).
TEACHER_PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


@MODELS.register_module()
class DistillationDetector(BaseModel):
    """A student detector trained with distillation losses from a frozen teacher.

    The student runs its usual ``loss`` (RPN and RoI losses on its own features) while
    forward hooks record the features the distillers ask for. The teacher then runs
    under ``no_grad`` only as far as needed (backbone, or backbone + neck), and each
    distiller adds its weighted loss under the key ``distill_<name>_<loss>``.
    ``predict`` and ``tensor`` modes are the student's, so mmdet's evaluators and
    exporters see a plain detector.

    Args:
        student: the student detector: an mmdet model dict, a config file path (e.g.
            ``'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'``) or
            ``dict(cfg_path=..., **overrides)``. Its ``data_preprocessor`` is the model's.
        teacher: the teacher detector, in the same forms.
        distillers: ``{name: distiller config}``, e.g.
            ``dict(reviewkd=dict(type='ReviewKD', student='neck', teacher='neck'))``.
        teacher_ckpt: path or URL of the teacher's weights. ``None`` keeps the teacher's
            own initialisation (only sensible in tests).
        teacher_ckpt_strict: raise when the checkpoint has missing or unexpected keys
            (otherwise they are logged).
        teacher_data_preprocessor: ``dict(mean=..., std=..., bgr_to_rgb=...)`` when the
            teacher was trained with another normalisation than the student.
        eval_model: which model ``predict``/``tensor`` modes run: ``'student'`` or
            ``'teacher'`` (``tools/test.py --teacher``).
        init_student_from_teacher: submodule names, e.g. ``('neck', 'bbox_head')``, whose
            weights the student copies from the teacher once its checkpoint is loaded
            (see :meth:`init_student_from_teacher`). Off by default. FGD's and MGD's
            published configs start the student's neck and head this way, which gives
            the student more than the distillation loss: say so when comparing methods.
        nonfinite: what a training step with a NaN/inf loss does: ``'stop'`` (default)
            raises an error naming the loss keys and the iteration before the step's
            update is applied; ``'skip'`` drops that update and goes on, until
            ``max_nonfinite_skips`` steps in a row were skipped (see
            :class:`~mmkd.models.nonfinite.NonFiniteLossGuard`).
        max_nonfinite_skips: consecutive skipped steps tolerated with ``'skip'``.
        loss_balance: automatic loss weights, e.g. ``dict(warmup_iters=100)`` or
            ``dict(ratio=2.0)`` (both optional; ``ratio`` defaults to each distiller's
            ``balance_ratio``: 8 for losses between features, 1 between predictions; None,
            the default, keeps the configured weights). Each
            distiller's losses are multiplied by a scale measured over its first
            ``warmup_iters`` steps with a non-zero loss (steps its schedule keeps it off
            do not count): the ratio of means ``ratio * sum(L_task) / sum(L_distill)``,
            ``L_task`` the detection loss of the model the distiller trains and
            ``L_distill`` its losses as configured (loss weights included) before the
            schedule's ramp, clamped to [1e-3, 1e3]; then frozen. The scale is logged as
            ``distill_<name>_scale`` and saved in checkpoints (see
            :mod:`~mmkd.models.loss_balance`).
        teacher_precision: ``'fp32'`` (default), ``'fp16'`` or ``'bf16'``. With a half
            precision, the teacher's forward (its backbone, or backbone + neck) runs under
            ``torch.autocast`` of that dtype on the inputs' device, and the recorded
            teacher features are cast back to float32 before the distillers get them.
            Teacher head parts a distiller runs itself (e.g. KD's) run on those features
            in the step's own precision. ``'fp32'`` adds no autocast of its own: the
            teacher runs in the step's precision too, i.e. in float32, or under the
            optimizer wrapper's float16 autocast in mixed-precision training
            (``AmpOptimWrapper``, ``--amp``). Every loss computes in float32 whatever the
            precision of its inputs.
        data_preprocessor: the student's data preprocessor when its own config names
            none. mmengine's Runner passes a config's top-level ``data_preprocessor``
            here (many mmdet configs, e.g. Mask2Former, YOLOv3, SSD, define one). As for
            a plain mmdet detector, the student's own ``data_preprocessor`` wins; when
            the two differ, a warning names both.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 student: DetectorConfig,
                 teacher: DetectorConfig,
                 distillers: Dict[str, ConfigType],
                 teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_strict: bool = True,
                 teacher_data_preprocessor: OptConfigType = None,
                 eval_model: str = 'student',
                 init_student_from_teacher: Sequence[str] = (),
                 nonfinite: str = 'stop',
                 max_nonfinite_skips: int = 10,
                 teacher_precision: str = 'fp32',
                 loss_balance: Optional[dict] = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.teacher_autocast_dtype = self._teacher_autocast_dtype(teacher_precision)
        self.loss_guard = NonFiniteLossGuard(nonfinite, max_nonfinite_skips)
        if eval_model not in ('student', 'teacher'):
            raise ValueError(f"eval_model must be 'student' or 'teacher', got {eval_model!r}")
        if not isinstance(distillers, dict) or not distillers:
            raise ValueError('distillers must be a non-empty dict {name: distiller config}, '
                             f'got {distillers!r}')
        self.eval_model = eval_model
        self.student = build_detector(_with_preprocessor(student, data_preprocessor),
                                      'student')
        self.teacher = build_detector(teacher, 'teacher')
        # The student's preprocessing is the model's: exported students keep it.
        self.data_preprocessor = self.student.data_preprocessor
        self.teacher_normalization = self._teacher_normalization(teacher_data_preprocessor)

        if teacher_ckpt is not None:
            load_teacher_checkpoint(self.teacher, teacher_ckpt, strict=teacher_ckpt_strict)
            self.teacher._is_init = True  # keep the loaded weights through init_weights()
        self.init_student_from_teacher(init_student_from_teacher)
        self._freeze_teacher()

        self.distillers = torch.nn.ModuleDict(
            {name: self._build_distiller(name, cfg) for name, cfg in distillers.items()})
        self.loss_balance = build_loss_balance(
            loss_balance, {name: d.balance_ratio for name, d in self.distillers.items()})
        self._check_teacher_specs([s for d in self.distillers.values() for s in d.teacher_specs])
        self.student_recorder, self.teacher_recorder = connect_distillers(
            self.distillers.values(), self.student, self.teacher)
        self._teacher_backbone_only = all(
            s.path == 'backbone' or s.path.startswith('backbone.')
            for s in self.teacher_recorder.specs)

    # -------------------------------------------------- extension points of other hosts
    # A host in which the teacher plays another role (MutualDistillationDetector: it
    # trains) overrides these; nothing else of the training step depends on the role.
    distiller_options: Tuple[str, ...] = ()  # per-entry options the host itself takes

    def build_distiller(self, name: str, cfg: ConfigType, **options) -> BaseDistiller:
        """Build the distiller of one ``distillers`` entry; ``options`` are the entry's
        keys named in :attr:`distiller_options`."""
        return MODELS.build(cfg)

    def _build_distiller(self, name: str, cfg: ConfigType) -> BaseDistiller:
        cfg = dict(cfg)
        options = {key: cfg.pop(key) for key in self.distiller_options if key in cfg}
        for key in cfg:
            hosts = _hosts_taking(key)
            if hosts:
                raise ValueError(f"distiller '{name}': '{key}' is an option of "
                                 f"{' / '.join(hosts)}; use type='mmkd.{hosts[0]}'.")
        return self.build_distiller(name, cfg, **options)

    def init_student_from_teacher(self, parts: Sequence[str]) -> None:
        """Copy the teacher's parameters and buffers of each named submodule into the
        student's, and mark the copies initialised so ``init_weights()`` (which the
        Runner calls after building the model) keeps them. Without ``teacher_ckpt`` the
        teacher is re-initialised afterwards, so the two then differ (tests only).

        Raises:
            ValueError: a part missing on either side, or of another architecture.
        """
        for part in ([parts] if isinstance(parts, str) else parts):
            student_part = get_submodule(self.student, part, 'student')
            teacher_state = get_submodule(self.teacher, part, 'teacher').state_dict()
            student_state = student_part.state_dict()
            for key in [*student_state, *(k for k in teacher_state if k not in student_state)]:
                student_shape = tuple(student_state[key].shape) if key in student_state else None
                teacher_shape = tuple(teacher_state[key].shape) if key in teacher_state else None
                if student_shape != teacher_shape:
                    raise ValueError(
                        f"init_student_from_teacher: '{part}.{key}' is {student_shape} in the "
                        f'student but {teacher_shape} in the teacher (None: absent). Only '
                        'parts of the same architecture can be copied, e.g. the heads, or '
                        'the neck when both backbones give the same channels.')
            student_part.load_state_dict(teacher_state)
            for module in student_part.modules():
                if hasattr(module, '_is_init'):
                    module._is_init = True

    def _freeze_teacher(self) -> None:
        self.teacher.requires_grad_(False)
        self.teacher.eval()

    @staticmethod
    def _teacher_autocast_dtype(precision: str) -> Optional[torch.dtype]:
        """The dtype the teacher's forward autocasts to for ``teacher_precision``."""
        if precision not in TEACHER_PRECISIONS:
            raise ValueError(f'teacher_precision must be one of {tuple(TEACHER_PRECISIONS)}, '
                             f'got {precision!r}.')
        return TEACHER_PRECISIONS[precision]

    @staticmethod
    def _check_teacher_specs(specs) -> None:
        for spec in specs:
            if spec.path.split('.')[0] not in ('backbone', 'neck'):
                raise ValueError(
                    f"Teacher feature '{spec}' is outside the teacher's backbone and neck: "
                    'the frozen teacher only runs those parts. Distill features of '
                    "'backbone...' or 'neck...', or run head parts inside the distiller.")

    def _teacher_normalization(self, cfg: OptConfigType) -> Optional[dict]:
        """How to turn the student's batch into the teacher's: None when both models
        normalise alike, else the student's ``mean``/``std`` to undo, whether to ``flip``
        the channel order, and the teacher's ``mean``/``std`` (tensors of shape (C, 1, 1)).

        The teacher's normalisation is ``cfg`` when given, otherwise its own config's
        ``data_preprocessor`` (a caffe-style teacher gets caffe-style inputs).
        """
        student = _normalization(self.data_preprocessor)
        if cfg is None:
            teacher = _normalization(self.teacher.data_preprocessor)
            if teacher is None or student is None or _same_normalization(teacher, student):
                return None
            print_log(f"The teacher's data_preprocessor normalises otherwise than the "
                      f"student's (teacher: {_describe_normalization(teacher)}; student: "
                      f'{_describe_normalization(student)}): the teacher gets its own '
                      'normalisation. Set teacher_data_preprocessor to override.',
                      logger='current')
        else:
            unknown = set(cfg) - {'mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr'}
            if unknown or 'mean' not in cfg or 'std' not in cfg:
                raise ValueError('teacher_data_preprocessor takes mean, std and bgr_to_rgb '
                                 f'(e.g. dict(mean=[123.675, 116.28, 103.53], std=[58.395, '
                                 f'57.12, 57.375], bgr_to_rgb=True)); got {dict(cfg)}')
            if student is None:
                raise ValueError("teacher_data_preprocessor needs the student's "
                                 'data_preprocessor to be a DetDataPreprocessor, so the raw '
                                 'image can be recovered.')
            teacher = dict(mean=torch.tensor(cfg['mean'], dtype=torch.float32).view(-1, 1, 1),
                           std=torch.tensor(cfg['std'], dtype=torch.float32).view(-1, 1, 1),
                           bgr_to_rgb=bool(cfg.get('bgr_to_rgb') or cfg.get('rgb_to_bgr')))
        return dict(mean=teacher['mean'], std=teacher['std'],
                    student_mean=student['mean'], student_std=student['std'],
                    flip=teacher['bgr_to_rgb'] != student['bgr_to_rgb'])

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """mmengine's training step, with the losses checked before the update: a
        non-finite step stops training or, with ``nonfinite='skip'``, is not applied."""
        warn_without_reliability_hooks()
        # A skipped step leaves no trace: BatchNorm statistics its forward updated too.
        buffers = ({name: b.clone() for name, b in self.named_buffers()}
                   if self.loss_guard.mode == 'skip' else None)
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        loss, log_vars = super().parse_losses(losses)
        if not self.loss_guard.check(log_vars, can_skip=True):
            for name, buffer in self.named_buffers():
                buffer.copy_(buffers[name])
            return {k: v for k, v in log_vars.items() if bool(torch.isfinite(v).all())}
        optim_wrapper.update_params(loss)
        return log_vars

    def parse_losses(self, losses: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        """mmengine's, plus the non-finite check: the path of mmengine's distributed
        wrapper, which applies every update it gets (a bad step can only stop there)."""
        warn_without_reliability_hooks()
        loss, log_vars = super().parse_losses(losses)
        self.loss_guard.check(log_vars, can_skip=False)
        return loss, log_vars

    def train(self, mode: bool = True):
        """Switch the student and distillers; the frozen teacher always stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    # ------------------------------------------------------------------ forward modes
    def forward(self, inputs: Tensor, data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], SampleList, Tuple[Tensor]]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.eval_detector._forward(self._eval_inputs(inputs, data_samples),
                                               data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": use "loss", "predict" or "tensor".')

    @property
    def eval_detector(self):
        return self.teacher if self.eval_model == 'teacher' else self.student

    def _eval_inputs(self, inputs: Tensor, data_samples: OptSampleList) -> Tensor:
        if self.eval_model == 'teacher':
            return self.teacher_inputs(inputs, data_samples)
        return inputs

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        return self.eval_detector.predict(self._eval_inputs(inputs, data_samples), data_samples)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        message_hub = MessageHub.get_current_instance()
        iteration = message_hub.get_info('iter', 0)
        epoch = message_hub.get_info('epoch', 0)
        factors = {name: d.schedule_factor(iteration, epoch)
                   for name, d in self.distillers.items()}
        try:
            with self.student_recorder.recording():
                student_losses = self.student.loss(inputs, data_samples)
            teacher_losses = self.teacher_loss_step(inputs, data_samples,
                                                    any(factors.values()))
            losses = {**student_losses, **teacher_losses}
            for name, distiller in self.distillers.items():
                distill = self._distiller_losses(name, distiller, factors[name], data_samples,
                                                 student_losses, teacher_losses)
                losses.update({f'distill_{name}_{key}': value for key, value in distill.items()})
                if self.loss_balance is not None:
                    # logged, not summed into the total loss: the key has no 'loss'
                    losses[f'distill_{name}_scale'] = self.loss_balance[name].scale.float()
        finally:
            self.student_recorder.clear()
            self.teacher_recorder.clear()
        return losses

    def teacher_loss_step(self, inputs: Tensor, data_samples: SampleList,
                          needed: bool) -> Dict[str, Tensor]:
        """Run the teacher so its recorder holds what the distillers need.

        Returns the teacher's own losses to add: none for the frozen teacher, which runs
        under ``no_grad`` and only when some distiller is active (``needed``).
        """
        if needed:
            with torch.no_grad(), self.teacher_recorder.recording(), \
                    self._teacher_autocast(inputs.device.type):
                self.run_teacher(self.teacher_inputs(inputs, data_samples))
        return {}

    def _teacher_autocast(self, device_type: str) -> contextlib.AbstractContextManager:
        if self.teacher_autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device_type, dtype=self.teacher_autocast_dtype)

    def distiller_features(self, distiller: BaseDistiller
                           ) -> Tuple[List[Tensor], List[Tensor]]:
        """The recorded (student, teacher) features ``distiller`` asked for; a half
        precision teacher's in float32, so the losses compute as with a float32 one."""
        student_feats = [f for s in distiller.student_specs for f in self.student_recorder.get(s)]
        teacher_feats = [f for s in distiller.teacher_specs for f in self.teacher_recorder.get(s)]
        if self.teacher_autocast_dtype is not None:
            teacher_feats = [f.float() for f in teacher_feats]
        return student_feats, teacher_feats

    def learner_task_loss(self, distiller: BaseDistiller, student_losses: Dict[str, Tensor],
                          teacher_losses: Dict[str, Tensor]) -> Tensor:
        """The detection loss of the model ``distiller`` trains (for ``loss_balance``): the
        student's here; a host whose teacher also learns picks by direction."""
        return total_loss(student_losses)

    def _distiller_losses(self, name: str, distiller: BaseDistiller, factor: float,
                          data_samples: SampleList, student_losses: Dict[str, Tensor],
                          teacher_losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The distiller's losses times its schedule factor and, with ``loss_balance``, its
        scale, which measures the losses before the factor: a warm-up ramp stays a ramp."""
        if factor == 0:
            return distiller.zero_losses()
        losses = distiller(*self.distiller_features(distiller), data_samples)
        if self.loss_balance is not None:
            balance = self.loss_balance[name]
            balance.update(self.learner_task_loss(distiller, student_losses, teacher_losses),
                           total_loss(losses))
            losses = {key: value * balance.scale.to(value.dtype)
                      for key, value in losses.items()}
        return {key: value * factor for key, value in losses.items()}

    def run_teacher(self, inputs: Tensor) -> None:
        """Run the teacher as far as the recorded features need (hooks record them)."""
        if self._teacher_backbone_only:
            self.teacher.backbone(inputs)
        else:
            self.teacher.extract_feat(inputs)

    def teacher_inputs(self, inputs: Tensor, data_samples: OptSampleList) -> Tensor:
        """The batch normalised the teacher's way (same tensor when they agree).

        The student's normalisation is undone, channels reordered if the two disagree,
        the teacher's applied, and the padding set back to zero as mmdet pads it.
        """
        norm = self.teacher_normalization
        if norm is None:
            return inputs
        raw = inputs * norm['student_std'].to(inputs) + norm['student_mean'].to(inputs)
        if norm['flip']:
            raw = raw.flip(1)
        out = (raw - norm['mean'].to(raw)) / norm['std'].to(raw)
        for image, sample in zip(out, data_samples or []):
            height, width = sample.img_shape[:2]
            image[:, height:, :] = 0
            image[:, :, width:] = 0
        return out


def _with_preprocessor(student: DetectorConfig, data_preprocessor: OptConfigType
                       ) -> DetectorConfig:
    """The student's config with the model-level ``data_preprocessor`` given to the host:
    the student's own when it names one (a different model-level one is named in a
    warning, since the user may expect it to apply), else the model-level one."""
    if data_preprocessor is None:
        return student
    student = detector_config(student, 'student')
    own = student.get('data_preprocessor')
    if own is None:
        student['data_preprocessor'] = data_preprocessor
    elif _comparable(own) != _comparable(data_preprocessor):
        print_log(
            f"The config's top-level data_preprocessor {_comparable(data_preprocessor)} "
            "(mmengine's Runner passes it to the model) differs from the student's own "
            f"{_comparable(own)}: the student's is used, as mmdet does for a plain "
            'detector. To change the preprocessing, set model.student.data_preprocessor.',
            logger='current', level=30)
    return student


def _comparable(cfg) -> dict:
    """A preprocessor config as a plain dict, its type without the ``mmdet.`` scope (and
    without the ``_scope_`` key mmengine adds when it builds from a config)."""
    plain = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    plain.pop('_scope_', None)
    if isinstance(plain.get('type'), str):
        plain['type'] = plain['type'].split('.')[-1]
    return plain


def _normalization(preprocessor) -> Optional[dict]:
    """``mean``, ``std`` (shape (C, 1, 1)) and ``bgr_to_rgb`` of an mmdet data
    preprocessor (mean 0 and std 1 when it does not normalise); None when it is not an
    image preprocessor that says."""
    if not hasattr(preprocessor, '_enable_normalize'):
        return None
    if preprocessor._enable_normalize:
        mean = preprocessor.mean.detach().float().cpu().view(-1, 1, 1)
        std = preprocessor.std.detach().float().cpu().view(-1, 1, 1)
    else:
        mean, std = torch.zeros(1, 1, 1), torch.ones(1, 1, 1)
    return dict(mean=mean, std=std, bgr_to_rgb=bool(preprocessor._channel_conversion))


def _same_normalization(a: dict, b: dict) -> bool:
    return (a['bgr_to_rgb'] == b['bgr_to_rgb']
            and torch.equal(*torch.broadcast_tensors(a['mean'], b['mean']))
            and torch.equal(*torch.broadcast_tensors(a['std'], b['std'])))


def _describe_normalization(norm: dict) -> str:
    return (f"mean {[round(v, 3) for v in norm['mean'].flatten().tolist()]}, std "
            f"{[round(v, 3) for v in norm['std'].flatten().tolist()]}, bgr_to_rgb "
            f"{norm['bgr_to_rgb']}")


def connect_distillers(distillers: Iterable[BaseDistiller], student: nn.Module,
                       teacher: nn.Module) -> Tuple[FeatureRecorder, FeatureRecorder]:
    """Set built distillers up for two detectors and record what they then read.

    Probes the channels and strides of the features the distillers name (one pass per
    detector), pairs levels of different strides (:func:`pair_levels_by_stride`), calls
    each distiller's ``setup`` with its :class:`DistillerContext`, and returns the
    (student, teacher) recorders of the specs the distillers settled on.
    """
    distillers = list(distillers)
    student_levels = probe_feature_levels(
        student, [s for d in distillers for s in d.student_specs], 'student')
    teacher_levels = probe_feature_levels(
        teacher, [s for d in distillers for s in d.teacher_specs], 'teacher')
    for distiller in distillers:
        paired = pair_levels_by_stride(
            distiller.student_specs, distiller.teacher_specs,
            _flatten(student_levels, distiller.student_specs),
            _flatten(teacher_levels, distiller.teacher_specs), type(distiller).__name__)
        distiller.setup(DistillerContext(student, teacher, *paired))
    return (FeatureRecorder(student, [s for d in distillers for s in d.student_specs], 'student'),
            FeatureRecorder(teacher, [s for d in distillers for s in d.teacher_specs], 'teacher'))


def _flatten(levels: dict, specs) -> Optional[List[FeatureLevel]]:
    """The levels of ``specs`` in order, or None if any spec could not be probed."""
    if any(levels[spec] is None for spec in specs):
        return None
    return [level for spec in specs for level in levels[spec]]


def _hosts_taking(option: str) -> List[str]:
    """Names of the registered hosts whose distiller entries take ``option``."""
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, DistillationDetector)
                  and option in cls.distiller_options)
