"""FitNet (Romero et al., 2015): the student's features, adapted by a conv, regress the
teacher's features of the same level."""
from typing import Optional

from mmdet.utils import ConfigType

from ...registry import MODELS
from .feature_distiller import FeatureDistiller


@MODELS.register_module()
class FitNet(FeatureDistiller):
    """Same-level hint loss: ``loss(adapter(s_i), t_i)`` for every recorded level, each
    level with its own learnt adapter (the regressor).

    Args:
        student / teacher: feature specs (see :class:`BaseDistiller`).
        loss: loss config called with the per-level lists; default
            ``dict(type='FeatureMSELoss', loss_weight=1.0)``.
        adapter_kernel: kernel size of the adapter conv (student C -> teacher C), one per
            level; ``None`` compares features directly (channels must then agree).
        **kwargs: schedule options of :class:`BaseDistiller`.
    """

    adapt_every_level = True

    def __init__(self, student, teacher=None, loss: ConfigType = dict(type='FeatureMSELoss'),
                 adapter_kernel: Optional[int] = 1, **kwargs):
        super().__init__(student, teacher, loss=loss, adapter_kernel=adapter_kernel, **kwargs)
