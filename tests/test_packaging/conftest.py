"""Built distributions of this checkout, made from a copy of its sources (so building
leaves no build/ or egg-info in the checkout)."""
import os.path as osp
import shutil
import zipfile

import pytest
from build_helpers import ROOT, pip_wheel

SOURCES = ('pyproject.toml', 'setup.py', 'MANIFEST.in', 'README.md', 'configs', 'mmkd')
# Top-level folders of the repository that must stay out of the distributions.
REPO_ONLY = ('experiments', 'tools', 'tests')


@pytest.fixture(scope='session')
def source_copy(tmp_path_factory) -> str:
    copy = str(tmp_path_factory.mktemp('mmkd-source'))
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in SOURCES + tuple(n for n in REPO_ONLY if osp.exists(osp.join(ROOT, n))):
        source = osp.join(ROOT, name)
        if osp.isdir(source):
            shutil.copytree(source, osp.join(copy, name), ignore=ignore)
        else:
            shutil.copy(source, copy)
    return copy


@pytest.fixture(scope='session')
def wheel(source_copy, tmp_path_factory) -> str:
    return pip_wheel(source_copy, str(tmp_path_factory.mktemp('wheel')))


@pytest.fixture(scope='session')
def installed_wheel(wheel, tmp_path_factory) -> str:
    """The wheel unpacked: the files a (pure-Python) install puts in site-packages."""
    site = str(tmp_path_factory.mktemp('site-packages'))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site
