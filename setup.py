"""Ship the repository's configs inside the package, where ``mmkd::<path>`` finds them.

As mmdet does with ``mmdet/.mim``: a wheel gets a copy of ``configs/`` as
``mmkd/.mim/configs``; an editable install gets a symlink there to ``configs/``, so config
edits apply without reinstalling. ``configs/demo`` is not shipped: it points at the
repository's generated demo data. Everything else about the package is in pyproject.toml.
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

REPO = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(REPO, 'configs')
SHIPPED_CONFIGS = osp.join('mmkd', '.mim', 'configs')
REPO_ONLY_CONFIGS = ('demo', )


def _remove(path: str) -> None:
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def copy_configs(target: str) -> None:
    """Replace ``target`` with a copy of ``configs/`` minus the repository-only folders."""
    _remove(target)

    def ignore(folder, names):
        skipped = {'__pycache__'} | {n for n in names if n.endswith(('.pyc', '.pyo'))}
        if osp.samefile(folder, CONFIGS):
            skipped |= set(REPO_ONLY_CONFIGS) & set(names)
        return skipped

    shutil.copytree(CONFIGS, target, ignore=ignore)


def link_configs() -> None:
    """Point the source tree's ``mmkd/.mim/configs`` at ``configs/``, which an editable
    install imports mmkd from (a copy where the file system has no symlinks)."""
    target = osp.join(REPO, SHIPPED_CONFIGS)
    _remove(target)
    os.makedirs(osp.dirname(target), exist_ok=True)
    try:
        os.symlink(osp.relpath(CONFIGS, osp.dirname(target)), target,
                   target_is_directory=True)
    except OSError:
        copy_configs(target)


class BuildPyWithConfigs(build_py):
    """``build_py`` that also ships the configs (copied, or linked when editable)."""

    def run(self):
        if not osp.isdir(CONFIGS):
            raise FileNotFoundError(
                f'{CONFIGS} not found: build mmkd from a repository checkout or an mmkd sdist '
                '(both carry configs/).')
        if not self.editable_mode:
            # setuptools reuses build/lib between builds and never deletes from it: a module
            # since moved out of mmkd would otherwise stay in every later wheel.
            _remove(osp.join(self.build_lib, 'mmkd'))
        super().run()
        if self.editable_mode:
            link_configs()
        else:
            copy_configs(osp.join(self.build_lib, SHIPPED_CONFIGS))


setup(cmdclass={'build_py': BuildPyWithConfigs})
