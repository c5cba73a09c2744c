"""The model users put in ``model = dict(type='mmkd.DistillationDetector', ...)``."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path
from torch import Tensor

from ..checkpoint import load_teacher_checkpoint
from ..registry import MODELS
from .recorder import FeatureRecorder, probe_feature_shapes

DetectorConfig = Union[str, dict, ConfigDict]


def resolve_config_path(path: str, role: str = 'config') -> str:
    """A config file path, with ``package::relative/path.py`` (as in ``_base_``) resolved
    to the file that package installs under ``.mim/configs``."""
    resolved = path
    if '::' in path:
        package, relative = path.split('::', 1)
        try:
            resolved = osp.join(get_installed_path(package), '.mim', 'configs', relative)
        except Exception:
            raise FileNotFoundError(f"{role} config '{path}': package '{package}' is not "
                                    'installed.') from None
    if not osp.isfile(resolved):
        raise FileNotFoundError(f"{role} config file '{path}' not found"
                                + (f' (looked at {resolved})' if resolved != path else '') + '.')
    return resolved


def detector_config(cfg: DetectorConfig, role: str) -> ConfigDict:
    """Turn a detector given as a config file, ``dict(cfg_path=..., **overrides)`` or an
    inline model dict into the model dict mmdet builds."""
    if isinstance(cfg, str):
        cfg = dict(cfg_path=cfg)
    if not isinstance(cfg, dict):
        raise TypeError(f'{role} must be a model dict or a config path, got {type(cfg).__name__}')
    cfg = copy.deepcopy(dict(cfg))
    cfg_path = cfg.pop('cfg_path', None)
    if cfg_path is None:
        if 'type' not in cfg:
            raise ValueError(f"{role} config has no 'type' and no 'cfg_path': give an mmdet "
                             f"model dict or a config file such as "
                             f"'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'.")
        return ConfigDict(cfg)
    model = Config.fromfile(resolve_config_path(cfg_path, role)).get('model')
    if model is None:
        raise ValueError(f"{role} config file {cfg_path} defines no 'model'.")
    if cfg:  # overrides merge into the file's model like --cfg-options do
        merged = Config(dict(model=model))
        merged.merge_from_dict({f'model.{key}': value for key, value in cfg.items()})
        model = merged.model
    return model


def build_detector(cfg: DetectorConfig, role: str):
    from mmdet.registry import MODELS as MMDET_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MMDET_MODELS.build(detector_config(cfg, role))


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
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 student: DetectorConfig,
                 teacher: DetectorConfig,
                 distillers: Dict[str, dict],
                 teacher_ckpt: Optional[str] = None,
                 teacher_ckpt_strict: bool = True,
                 teacher_data_preprocessor: Optional[dict] = None,
                 eval_model: str = 'student',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if eval_model not in ('student', 'teacher'):
            raise ValueError(f"eval_model must be 'student' or 'teacher', got {eval_model!r}")
        if not isinstance(distillers, dict) or not distillers:
            raise ValueError('distillers must be a non-empty dict {name: distiller config}, '
                             f'got {distillers!r}')
        self.eval_model = eval_model
        self.student = build_detector(student, 'student')
        self.teacher = build_detector(teacher, 'teacher')
        # The student's preprocessing is the model's: exported students keep it.
        self.data_preprocessor = self.student.data_preprocessor
        self.teacher_normalization = self._teacher_normalization(teacher_data_preprocessor)

        if teacher_ckpt is not None:
            load_teacher_checkpoint(self.teacher, teacher_ckpt, strict=teacher_ckpt_strict)
            self.teacher._is_init = True  # keep the loaded weights through init_weights()
        self._freeze_teacher()

        self.distillers = torch.nn.ModuleDict()
        for name, cfg in distillers.items():
            if 'direction' in cfg:
                raise ValueError(f"distiller '{name}': 'direction' is an option of online "
                                 "distillation; use type='mmkd.MutualDistillationDetector'.")
            self.distillers[name] = MODELS.build(cfg)
        student_specs = [s for d in self.distillers.values() for s in d.student_specs]
        teacher_specs = [s for d in self.distillers.values() for s in d.teacher_specs]
        self._check_teacher_specs(teacher_specs)
        # Build-time checks and layer creation need the shapes the features will have.
        student_shapes = probe_feature_shapes(self.student, student_specs, 'student')
        teacher_shapes = probe_feature_shapes(self.teacher, teacher_specs, 'teacher')
        for distiller in self.distillers.values():
            distiller.build_layers(_flatten(student_shapes, distiller.student_specs),
                                   _flatten(teacher_shapes, distiller.teacher_specs))
            distiller.attach_models(self.student, self.teacher)
        self.student_recorder = FeatureRecorder(self.student, student_specs, 'student')
        self.teacher_recorder = FeatureRecorder(self.teacher, teacher_specs, 'teacher')
        self._teacher_backbone_only = all(
            s.path == 'backbone' or s.path.startswith('backbone.') for s in teacher_specs)

    def _freeze_teacher(self) -> None:
        self.teacher.requires_grad_(False)
        self.teacher.eval()

    @staticmethod
    def _check_teacher_specs(specs) -> None:
        for spec in specs:
            if spec.path.split('.')[0] not in ('backbone', 'neck'):
                raise ValueError(
                    f"Teacher feature '{spec}' is outside the teacher's backbone and neck: "
                    'the frozen teacher only runs those parts. Distill features of '
                    "'backbone...' or 'neck...', or run head parts inside the distiller.")

    def _teacher_normalization(self, cfg: Optional[dict]):
        if cfg is None:
            return None
        unknown = set(cfg) - {'mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr'}
        if unknown or 'mean' not in cfg or 'std' not in cfg:
            raise ValueError('teacher_data_preprocessor takes mean, std and bgr_to_rgb '
                             f'(e.g. dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, '
                             f'57.375], bgr_to_rgb=True)); got {dict(cfg)}')
        student = self.data_preprocessor
        if not getattr(student, '_enable_normalize', False):
            raise ValueError("teacher_data_preprocessor needs the student's data_preprocessor "
                             'to normalise with mean/std, so the raw image can be recovered.')
        return dict(
            mean=torch.tensor(cfg['mean'], dtype=torch.float32).view(-1, 1, 1),
            std=torch.tensor(cfg['std'], dtype=torch.float32).view(-1, 1, 1),
            flip=bool(cfg.get('bgr_to_rgb') or cfg.get('rgb_to_bgr'))
            != bool(student._channel_conversion))

    def train(self, mode: bool = True):
        """Switch the student and distillers; the frozen teacher always stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    # ------------------------------------------------------------------ forward modes
    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
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

    def _eval_inputs(self, inputs, data_samples):
        if self.eval_model == 'teacher':
            return self.teacher_inputs(inputs, data_samples)
        return inputs

    def predict(self, inputs: Tensor, data_samples):
        return self.eval_detector.predict(self._eval_inputs(inputs, data_samples), data_samples)

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        message_hub = MessageHub.get_current_instance()
        iteration = message_hub.get_info('iter', 0)
        epoch = message_hub.get_info('epoch', 0)
        factors = {name: d.schedule_factor(iteration, epoch)
                   for name, d in self.distillers.items()}
        try:
            with self.student_recorder.recording():
                losses = self.student.loss(inputs, data_samples)
            losses.update(self.teacher_loss_step(inputs, data_samples, any(factors.values())))
            for name, distiller in self.distillers.items():
                losses.update({f'distill_{name}_{key}': value for key, value
                               in self._distiller_losses(distiller, factors[name],
                                                         data_samples).items()})
        finally:
            self.student_recorder.clear()
            self.teacher_recorder.clear()
        return losses

    def teacher_loss_step(self, inputs: Tensor, data_samples, needed: bool) -> Dict[str, Tensor]:
        """Run the teacher so its recorder holds what the distillers need.

        Returns the teacher's own losses to add: none for the frozen teacher, which runs
        under ``no_grad`` and only when some distiller is active (``needed``).
        """
        if needed:
            with torch.no_grad(), self.teacher_recorder.recording():
                self.run_teacher(self.teacher_inputs(inputs, data_samples))
        return {}

    def distiller_features(self, distiller) -> Tuple[List[Tensor], List[Tensor]]:
        """The recorded (student, teacher) features ``distiller`` asked for."""
        student_feats = [f for s in distiller.student_specs for f in self.student_recorder.get(s)]
        teacher_feats = [f for s in distiller.teacher_specs for f in self.teacher_recorder.get(s)]
        return student_feats, teacher_feats

    def _distiller_losses(self, distiller, factor: float, data_samples) -> Dict[str, Tensor]:
        if factor == 0:
            return distiller.zero_losses()
        losses = distiller(*self.distiller_features(distiller), data_samples)
        return {key: value * factor for key, value in losses.items()}

    def run_teacher(self, inputs: Tensor) -> None:
        """Run the teacher as far as the recorded features need (hooks record them)."""
        if self._teacher_backbone_only:
            self.teacher.backbone(inputs)
        else:
            self.teacher.extract_feat(inputs)

    def teacher_inputs(self, inputs: Tensor, data_samples) -> Tensor:
        """The batch normalised the teacher's way (same tensor when they agree).

        The student's normalisation is undone, channels reordered if the two disagree,
        the teacher's applied, and the padding set back to zero as mmdet pads it.
        """
        norm = self.teacher_normalization
        if norm is None:
            return inputs
        student = self.data_preprocessor
        raw = inputs * student.std + student.mean
        if norm['flip']:
            raw = raw.flip(1)
        out = (raw - norm['mean'].to(raw)) / norm['std'].to(raw)
        for image, sample in zip(out, data_samples or []):
            height, width = sample.img_shape[:2]
            image[:, height:, :] = 0
            image[:, :, width:] = 0
        return out


def _flatten(shapes: dict, specs) -> Optional[List[torch.Size]]:
    if any(shapes[spec] is None for spec in specs):
        return None
    return [shape for spec in specs for shape in shapes[spec]]
