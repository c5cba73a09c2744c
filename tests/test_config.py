"""mmkd.config: a teacher given as a config path gets its own custom_imports."""
import sys

from mmkd.config import detector_config

from helpers import FAMILIES


def test_teacher_config_custom_imports_take_effect(tmp_path, shapes_data):
    """A teacher given as a config path gets its own custom_imports imported at build."""
    module = 'mmkd_test_teacher_plugin'
    (tmp_path / f'{module}.py').write_text('IMPORTED = True\n')
    teacher = tmp_path / 'teacher.py'
    teacher.write_text(f"_base_ = '{FAMILIES['retinanet']}'\n"
                       f"custom_imports = dict(imports=['{module}'], "
                       'allow_failed_imports=False)\n')
    sys.path.insert(0, str(tmp_path))
    try:
        detector_config(str(teacher), 'teacher')
        assert sys.modules[module].IMPORTED
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)
