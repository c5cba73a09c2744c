"""Config helpers: where a detector config comes from and what kind of config it is.

Every part of mmkd (the host models, tools, testing, benchmarks, the demo) asks these
questions through this module, so each has one answer.
"""
import copy
import importlib.util
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

DetectorConfig = Union[str, dict, ConfigDict]


def package_configs_dir(package: str) -> str:
    """The ``.mim/configs`` folder of an installed OpenMMLab package (mmdet, mmkd, ...).

    Found where Python imports the package from, so editable installs (whose distribution
    lies elsewhere) and checkouts on ``PYTHONPATH`` resolve to the code actually used.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package '{package}' is not installed.")
    configs = osp.join(list(spec.submodule_search_locations)[0], '.mim', 'configs')
    if not osp.isdir(configs):
        raise FileNotFoundError(
            f"package '{package}' ships no configs ({configs} is missing): reinstall it "
            f'(from a checkout: pip install -e <checkout>).')
    return configs


def resolve_config_path(path: str, role: str = 'config') -> str:
    """A config file path, with ``package::relative/path.py`` (as in ``_base_``) resolved
    to the file that package ships under ``.mim/configs`` (``mmkd::kd/...``,
    ``mmdet::faster_rcnn/...``)."""
    resolved = path
    if '::' in path:
        package, relative = path.split('::', 1)
        try:
            resolved = osp.join(package_configs_dir(package), relative)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{role} config '{path}': {error}") from None
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
    """Build an mmdet detector from any of the forms :func:`detector_config` takes."""
    from mmdet.registry import MODELS as MMDET_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MMDET_MODELS.build(detector_config(cfg, role))


def is_distillation_config(model_cfg: dict) -> bool:
    """Whether a ``model`` config is an mmkd host (``DistillationDetector`` or a
    subclass such as ``MutualDistillationDetector``): it names a student and a teacher."""
    model_type = str(model_cfg.get('type', '')).split('.')[-1]
    return model_type.endswith('DistillationDetector') and 'student' in model_cfg


def student_config(model_cfg: dict) -> ConfigDict:
    """The student's detector config of a distillation config, or the config itself for
    a plain detector."""
    if is_distillation_config(model_cfg):
        return detector_config(model_cfg['student'], 'student')
    return ConfigDict(copy.deepcopy(dict(model_cfg)))


def load_config(path: str, launcher: str = 'none', cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """The config at ``path`` (a file or ``mmkd::<relative path>``) with mmdet's CLI
    conventions applied: ``--cfg-options`` merged, and the work dir from ``--work-dir``,
    the config, or ``./work_dirs/<config name>``, in that order."""
    cfg = Config.fromfile(resolve_config_path(path))
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg
