"""Which detector families and methods the demo and the benchmarks can run, read from
the configs present (and the distiller registry), so adding either needs no code.

Naming conventions:

* demo: ``configs/demo/<detector>_teacher.py`` and ``<detector>_student.py`` make a
  detector family (``faster-rcnn``, ``mask-rcnn``, ...); every other
  ``configs/demo/<detector>_<method>.py`` is a method (a distillation config of that
  student and teacher; bases live in ``configs/demo/_base_/``);
* backbone pretraining: the ``configs/demo/pretrain/`` config whose
  :data:`.settings.BACKBONE_PRETRAINING` entry names a demo teacher or student pretrains
  its backbone (``tools/demo.py --pretrained``);
* repository pairs: ``configs/_base_/pairs/<detector>_<pair>.py`` is a pair; its
  config for a method is the ``configs/<method>/`` config whose ``_base_`` it is, and
  the student alone is the pair base's own ``_base_`` (a ``configs/baselines/`` config).
"""
import functools
import glob
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from mmengine.config import Config

from mmkd.config import is_distillation_config, resolve_config_path
from . import CONFIGS
from .settings import BACKBONE_PRETRAINING

DEMO_CONFIGS = osp.join(CONFIGS, 'demo')
PRETRAIN_CONFIGS = osp.join(DEMO_CONFIGS, 'pretrain')
BASELINE = 'baseline'  # the demo's name for the student trained alone


@functools.lru_cache(maxsize=None)
def distiller_types(config: str) -> Tuple[str, ...]:
    """The distiller types a config uses, e.g. ``('FitNet', )`` (none for a detector)."""
    model = Config.fromfile(config).model
    if not is_distillation_config(model):
        return ()
    return tuple(str(d['type']).split('.')[-1] for d in model.get('distillers', {}).values())


class Method(NamedTuple):
    """A demo method: the student baseline or one distillation config."""
    name: str    # 'fitnet' of faster-rcnn_fitnet.py; 'baseline'
    config: str  # its config file

    @property
    def label(self) -> str:
        """'+ FitNet' (the distillers of the config); 'student baseline'."""
        if self.name == BASELINE:
            return 'student baseline'
        return '+ ' + ' + '.join(distiller_types(self.config))

    def unregistered(self) -> List[str]:
        """Distiller types of the config that this mmkd install does not register."""
        from mmkd.registry import MODELS
        return [t for t in distiller_types(self.config) if t not in MODELS.module_dict]


def demo_config(detector: str, name: str, config_dir: str = DEMO_CONFIGS) -> str:
    """``configs/demo/<detector>_<name>.py``."""
    return osp.join(config_dir, f'{detector}_{name}.py')


def demo_detectors(config_dir: str = DEMO_CONFIGS) -> List[str]:
    """The detector families that have a demo teacher and student config."""
    return sorted(osp.basename(p)[:-len('_teacher.py')]
                  for p in glob.glob(osp.join(config_dir, '*_teacher.py'))
                  if osp.isfile(p[:-len('_teacher.py')] + '_student.py'))


def demo_methods(detector: str, config_dir: str = DEMO_CONFIGS) -> Dict[str, Method]:
    """The baseline, then every other ``<detector>_<method>.py`` config, by name (found
    by file name only: the configs are read when a method's label or distillers are
    asked for)."""
    methods = {BASELINE: Method(BASELINE, demo_config(detector, 'student', config_dir))}
    for path in sorted(glob.glob(demo_config(detector, '*', config_dir))):
        name = osp.basename(path)[len(detector) + 1:-len('.py')]
        if name not in ('teacher', 'student'):
            methods[name] = Method(name, path)
    return methods


def pretraining_detectors(pretrain_config: str) -> List[str]:
    """The detector configs whose backbone ``pretrain_config`` pretrains: its
    :data:`.settings.BACKBONE_PRETRAINING` entry, in the folder above its own
    (``configs/demo/``); none for a config the table does not name.

    Raises:
        SystemExit: the entry names a config that does not exist.
    """
    pretrain_config = osp.abspath(pretrain_config)
    detector_dir = osp.dirname(osp.dirname(pretrain_config))
    detectors = [osp.join(detector_dir, name)
                 for name in BACKBONE_PRETRAINING.get(osp.basename(pretrain_config), ())]
    missing = [d for d in detectors if not osp.isfile(d)]
    if missing:
        raise SystemExit(f"experiments/settings.py: BACKBONE_PRETRAINING['"
                         f"{osp.basename(pretrain_config)}'] names {', '.join(missing)}, "
                         'which does not exist: fix the name.')
    return detectors


def backbone_pretraining(detector_config: str,
                         config_dir: str = PRETRAIN_CONFIGS) -> Optional[str]:
    """The config of ``config_dir`` that pretrains the backbone of ``detector_config``
    (the one whose :func:`pretraining_detectors` name it), or None.

    Raises:
        SystemExit: :data:`.settings.BACKBONE_PRETRAINING` names a pretraining config, or a
            detector config, that does not exist.
    """
    paths = [osp.join(config_dir, name) for name in sorted(BACKBONE_PRETRAINING)]
    unknown = [osp.basename(p) for p in paths if not osp.isfile(p)]
    if unknown:
        raise SystemExit(f"experiments/settings.py: BACKBONE_PRETRAINING names "
                         f"{', '.join(unknown)}, which is not a config of {config_dir}: fix "
                         'the name.')
    detectors = {path: pretraining_detectors(path) for path in paths}  # every entry checked
    target = osp.normpath(osp.abspath(detector_config))
    return next((path for path in paths
                 if target in (osp.normpath(d) for d in detectors[path])), None)


def repository_pairs() -> Dict[str, List[str]]:
    """Detector family -> its teacher-student pairs in ``configs/_base_/pairs/``."""
    pairs: Dict[str, List[str]] = {}
    for path in sorted(glob.glob(osp.join(CONFIGS, '_base_', 'pairs', '*_*.py'))):
        detector, pair = osp.basename(path)[:-len('.py')].split('_', 1)
        pairs.setdefault(detector, []).append(pair)
    return pairs


def repository_methods(detector: str, pair: str) -> Dict[str, str]:
    """Method -> the ``configs/<method>/`` config built on the pair base
    ``configs/_base_/pairs/<detector>_<pair>.py``."""
    pair_file = _pair_file(detector, pair)
    return {osp.basename(osp.dirname(p)): p
            for p in sorted(glob.glob(osp.join(CONFIGS, '*', '*.py')))
            if osp.basename(osp.dirname(p)) not in ('demo', 'baselines')
            and not osp.basename(osp.dirname(p)).startswith('_')
            and _first_base(p) == pair_file}


def repository_baseline(detector: str, pair: str) -> str:
    """The student-only config of a repository pair: the pair base's own base."""
    return _first_base(_pair_file(detector, pair))


def _pair_file(detector: str, pair: str) -> str:
    return osp.join(CONFIGS, '_base_', 'pairs', f'{detector}_{pair}.py')


def _first_base(config: str) -> str:
    """The first ``_base_`` file a config names, as a normalised path ('' if none); read
    from the text, so nothing is loaded."""
    with open(config) as f:
        match = re.search(r"^_base_\s*=\s*\[?\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    if not match:
        return ''
    if '::' in match[1]:  # a package's config, e.g. mmdet::rtmdet/...
        return resolve_config_path(match[1])
    return osp.normpath(osp.join(osp.dirname(config), match[1]))
