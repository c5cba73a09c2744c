"""mmkd registries: children of mmengine's roots under the scope ``mmkd``.

Types registered here are reachable from any OpenMMLab config as ``mmkd.<Type>``
(e.g. ``model = dict(type='mmkd.DistillationDetector', ...)``) while the config's
``default_scope`` stays ``mmdet`` for datasets, hooks and evaluators. Components built
through :data:`MODELS` (distillers, their losses and layers) are looked up in the
``mmkd`` scope whatever the default scope is, so their configs use plain names
(``type='ReviewKD'``) and ``mmdet.``-prefixed ones for mmdet components.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry, build_model_from_cfg


def _build_in_mmkd_scope(cfg, *args, **kwargs):
    if isinstance(cfg, dict) and '_scope_' not in cfg:
        cfg = dict(cfg, _scope_='mmkd')
    return build_model_from_cfg(cfg, *args, **kwargs)


MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmkd', locations=['mmkd.models'],
                  build_func=_build_in_mmkd_scope)
# Training hooks (``custom_hooks=[dict(type='mmkd.RandomStateHook')]``).
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.engine'])
