"""The model side of mmkd does not depend on the training machinery: ``mmkd.models``
never imports ``mmkd.engine`` (the engine builds on the models, not the reverse)."""
import ast
import os.path as osp
from pathlib import Path

import mmkd

PACKAGE = Path(osp.dirname(mmkd.__file__))


def imported_modules(path: Path):
    """Absolute names of the modules a source file imports."""
    package = path.relative_to(PACKAGE.parent).parts[:-1]  # ('mmkd', 'models', ...)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_models_do_not_import_engine():
    sources = sorted((PACKAGE / 'models').rglob('*.py'))
    assert len(sources) > 10
    offending = {str(path.relative_to(PACKAGE)): name for path in sources
                 for name in imported_modules(path) if name.startswith('mmkd.engine')}
    assert not offending, offending


def test_the_loss_guard_is_importable_from_where_users_import_it():
    from mmkd.engine import NonFiniteError, NonFiniteLossGuard
    from mmkd.models.nonfinite import NonFiniteError as ModelsError
    assert NonFiniteError is ModelsError
    assert NonFiniteLossGuard.__module__ == 'mmkd.models.nonfinite'
