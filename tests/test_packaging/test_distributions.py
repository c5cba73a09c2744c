"""What the wheel and sdist of mmkd hold: metadata a user's mmdet environment accepts, only
the library, and the configs under mmkd/.mim/configs."""
import email
import glob
import os
import os.path as osp
import tarfile
import zipfile

from build_helpers import ROOT, pip_wheel, run_python
from packaging.requirements import Requirement
from packaging.version import Version

METHODS = ('ReviewKD', 'FGFI', 'KD', 'FitNet', 'PKD', 'CWD', 'MGD', 'FGD', 'CrossKD', 'BCKD', 'LD',
           'DETRPredictionKD', 'MaskKD')


def wheel_metadata(wheel: str) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name, ) = [n for n in archive.namelist() if n.endswith('.dist-info/METADATA')]
        return email.message_from_bytes(archive.read(name))


def requirements(wheel: str) -> dict:
    found = {}
    for line in wheel_metadata(wheel).get_all('Requires-Dist'):
        requirement = Requirement(line)
        found[requirement.name] = requirement
    return found


def repo_configs() -> set:
    """Relative paths of the files a distribution ships from configs/: the configs with
    each folder's README.md and metafile.yml, all but configs/demo."""
    root = osp.join(ROOT, 'configs')
    paths = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if '__pycache__' not in folder and not name.endswith('.pyc'):
                paths.add(osp.relpath(osp.join(folder, name), root))
    shipped = {p for p in paths if not p.startswith('demo' + os.sep)}
    assert shipped and len(shipped) < len(paths)
    return shipped


def wheel_configs(wheel: str) -> set:
    prefix = 'mmkd/.mim/configs/'
    with zipfile.ZipFile(wheel) as archive:
        return {n[len(prefix):] for n in archive.namelist() if n.startswith(prefix)}


def test_torch_is_a_range_that_keeps_the_users_build(wheel):
    torch = requirements(wheel)['torch']
    assert all(spec.operator not in ('==', '===') for spec in torch.specifier), torch
    for version in ('2.1.0', '2.1.2+cu121', '2.5.1', '2.5.1+cu124', '2.13.0'):
        assert torch.specifier.contains(Version(version)), (torch, version)


def test_openmmlab_ranges_follow_mmdet_3_3(wheel):
    required = requirements(wheel)
    mmcv, mmengine, mmdet = required['mmcv'], required['mmengine'], required['mmdet']
    assert mmcv.specifier.contains('2.0.0rc4', prereleases=True)
    assert mmcv.specifier.contains('2.1.0')
    assert not mmcv.specifier.contains('2.2.0')
    assert mmengine.specifier.contains('0.7.1') and mmengine.specifier.contains('0.10.7')
    assert not mmengine.specifier.contains('1.0.0')
    assert mmdet.specifier.contains('3.3.0') and not mmdet.specifier.contains('2.28.2')


def test_mmpretrain_is_an_extra(wheel):
    mmpretrain = requirements(wheel)['mmpretrain']
    assert mmpretrain.marker is not None
    assert mmpretrain.marker.evaluate({'extra': 'mmpretrain'})
    assert not mmpretrain.marker.evaluate({'extra': ''})
    assert 'mmpretrain' in wheel_metadata(wheel).get_all('Provides-Extra')


def test_description_names_every_method(wheel):
    summary = wheel_metadata(wheel)['Summary']
    named = {word.strip('(),') for word in summary.split()}
    assert set(METHODS) <= named, summary


def test_wheel_holds_only_the_mmkd_package_and_its_configs(wheel):
    with zipfile.ZipFile(wheel) as archive:
        top_level = {n.split('/')[0] for n in archive.namelist()}
    assert top_level == {'mmkd', 'mmkd-0.1.0.dist-info'}
    assert wheel_configs(wheel) == repo_configs()


def test_rebuilt_wheel_drops_modules_moved_out_of_mmkd(source_copy, tmp_path):
    """The checkout's build/lib outlives a build; a wheel must still be its sources only."""
    module = osp.join(source_copy, 'mmkd', 'moved_away.py')
    with open(module, 'w') as f:
        f.write('')
    with zipfile.ZipFile(pip_wheel(source_copy, str(tmp_path / 'before'))) as archive:
        assert 'mmkd/moved_away.py' in archive.namelist()
    os.remove(module)
    with zipfile.ZipFile(pip_wheel(source_copy, str(tmp_path / 'after'))) as archive:
        assert 'mmkd/moved_away.py' not in archive.namelist()


def test_sdist_builds_a_wheel_with_the_configs(source_copy, tmp_path):
    sdist_dir = str(tmp_path / 'sdist')
    run_python('-c', f'from setuptools import build_meta; build_meta.build_sdist({sdist_dir!r})',
               cwd=source_copy)
    (sdist, ) = glob.glob(osp.join(sdist_dir, 'mmkd-*.tar.gz'))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert not any('/configs/demo/' in n for n in names)
    wheel = pip_wheel(sdist, str(tmp_path))
    assert wheel_configs(wheel) == repo_configs()


def test_editable_install_links_the_configs(source_copy, tmp_path):
    run_python('-c', 'from setuptools import build_meta; '
               f'build_meta.build_editable({str(tmp_path)!r})', cwd=source_copy)
    link = osp.join(source_copy, 'mmkd', '.mim', 'configs')
    assert osp.islink(link)
    assert osp.realpath(link) == osp.realpath(osp.join(source_copy, 'configs'))
