"""mmkd registries: children of mmengine's roots under the scope ``mmkd``.

Types registered here are reachable from any OpenMMLab config as ``mmkd.<Type>``
(e.g. ``model = dict(type='mmkd.DistillationDetector', ...)``) while the config's
``default_scope`` stays ``mmdet`` for datasets, hooks and evaluators.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmkd', locations=['mmkd.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmkd', locations=['mmkd.engine'])
