"""The runner of mmkd configs."""
import copy

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from ..registry import RUNNERS
from ..runtime import setup_runtime
from .hooks import add_reliability_hooks


@RUNNERS.register_module()
class DistillationRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, built with mmkd's reliability hooks
    and runtime set-up, whatever launches it.

    A config selects it with ``runner_type='mmkd.DistillationRunner'`` (every pair base
    in ``configs/_base_/pairs`` does); mmdet's ``tools/train.py``, ``mim train`` and
    mmkd's ``tools/train.py`` build it through mmengine's ``RUNNERS``. Building it:

    - adds the hooks of :func:`~mmkd.engine.add_reliability_hooks` that the config's
      ``custom_hooks`` does not name yet (the config's own hooks are kept);
    - applies :func:`~mmkd.runtime.setup_runtime` (gloo for distributed runs on
      machines without CUDA).
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'DistillationRunner':
        cfg = copy.deepcopy(cfg)
        if not isinstance(cfg, (Config, ConfigDict)):
            cfg = ConfigDict(cfg)
        add_reliability_hooks(cfg)
        setup_runtime(cfg)
        return super().from_cfg(cfg)
