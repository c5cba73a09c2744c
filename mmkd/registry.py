"""mmkd registries: children of mmengine's roots under the scope ``mmkd``.

Types registered here are reachable from any OpenMMLab config as ``mmkd.<Type>``
(e.g. ``model = dict(type='mmkd.DistillationDetector', ...)``) while the config's
``default_scope`` stays ``mmdet`` for datasets, hooks and evaluators. Components built
through :data:`MODELS` (distillers, their losses and layers) are looked up in the
``mmkd`` scope whatever the default scope is, so their configs use plain names
(``type='ReviewKD'``) and ``mmdet.``-prefixed ones for mmdet components.

A config's ``runner_type='mmkd.DistillationRunner'`` is resolved by any launcher that
builds its runner through mmengine's ``RUNNERS`` (mmdet's ``tools/train.py``, ``mim
train``): mmengine imports ``mmkd.registry`` for the ``mmkd.`` scope, which registers mmkd.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry, build_model_from_cfg


def _build_in_mmkd_scope(cfg, *args, **kwargs):
    if isinstance(cfg, dict) and '_scope_' not in cfg:
        cfg = dict(cfg, _scope_='mmkd')
    return build_model_from_cfg(cfg, *args, **kwargs)


MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmkd', locations=['mmkd.models'],
                  build_func=_build_in_mmkd_scope)
# Training hooks (``custom_hooks=[dict(type='mmkd.RandomStateHook')]``).
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.engine'])
# Runners (``runner_type='mmkd.DistillationRunner'``).
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='mmkd', locations=['mmkd.engine'])
