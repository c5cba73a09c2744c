"""Export one detector of a distillation checkpoint as a plain mmdet checkpoint + config."""
import os
import os.path as osp
from typing import Tuple

import numpy as np
import torch
from mmengine.config import Config

from .checkpoint import load_checkpoint_file, load_matching_weights
from .config import build_detector, detector_config, resolve_config_path


def _to_builtin(value):
    """Plain Python values, so the exported file loads with ``weights_only=True``
    in any environment (no mmkd or numpy types needed)."""
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_builtin(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_weights_fit(model_cfg, weights, role: str, config: str, checkpoint: str) -> None:
    """Build the detector the exported config describes and load the exported weights
    into it strictly, so that plain mmdet never builds it with random weights."""
    mismatch = load_matching_weights(build_detector(model_cfg, role), weights)
    if mismatch:
        raise ValueError(f"The {role} weights of '{checkpoint}' do not fit the {role} of "
                         f"'{config}': {mismatch}. Export with the config the checkpoint was "
                         'trained with.')


def export_detector(config: str, checkpoint: str, out_dir: str,
                    model: str = 'student') -> Tuple[str, str]:
    """Write ``<model>.pth`` and ``<model>_config.py`` into ``out_dir``.

    Args:
        config: the distillation config (its ``model.type`` is a DistillationDetector), a
            file or ``mmkd::<relative path>``.
        checkpoint: a checkpoint saved by the Runner for that config.
        model: ``'student'`` or ``'teacher'``.

    Returns:
        (weights path, config path)
    """
    config_file = resolve_config_path(config)
    cfg = Config.fromfile(config_file)
    if 'student' not in cfg.model or 'teacher' not in cfg.model:
        raise ValueError(f"{config} is not a distillation config: its model has no "
                         "'student'/'teacher'. A plain mmdet checkpoint needs no export.")
    state = load_checkpoint_file(checkpoint)
    state_dict = state.get('state_dict', state)
    prefix = f'{model}.'
    weights = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not weights:
        raise ValueError(f"'{checkpoint}' holds no '{prefix}' weights: it is not a checkpoint "
                         f'of a distillation model.')

    detector_cfg = cfg.copy()
    detector_cfg.model = detector_config(cfg.model[model], model)
    detector_cfg.load_from, detector_cfg.resume = None, False
    _check_weights_fit(detector_cfg.model, weights, model, config, checkpoint)
    imports = [m for m in detector_cfg.get('custom_imports', {}).get('imports', [])
               if m != 'mmkd' and not m.startswith('mmkd.')]
    if imports:
        detector_cfg.custom_imports.imports = imports
    else:
        detector_cfg.pop('custom_imports', None)

    meta = state.get('meta', {})
    exported_meta = dict(dataset_meta=_to_builtin(meta.get('dataset_meta', {})),
                         mmkd_source=dict(config=osp.abspath(config_file),
                                          checkpoint=osp.abspath(checkpoint), model=model,
                                          iter=_to_builtin(meta.get('iter'))))
    os.makedirs(out_dir, exist_ok=True)
    weights_path = osp.join(out_dir, f'{model}.pth')
    config_path = osp.join(out_dir, f'{model}_config.py')
    torch.save(dict(state_dict=weights, meta=exported_meta), weights_path)
    detector_cfg.dump(config_path)
    return weights_path, config_path
