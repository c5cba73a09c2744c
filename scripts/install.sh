#!/usr/bin/env bash
# Create ./.venv with the pinned OpenMMLab stack and mmkd installed in editable mode: the
# project's own demo and test environment (mmkd itself installs into any mmdet 3.3 environment:
# see scripts/check_plugin_install.sh).
#
# mmcv 2.1.0 has no PyPI wheel: a prebuilt wheel is taken from $MMKD_WHEELS (default
# ../shared/wheels) when one is there, otherwise it is compiled with its ops (~9 min on 2 cores).
# Torch is installed first and pinned so nothing pulls a newer (CUDA) build.
# torchvision 0.28.0 (needed by mmpretrain's models, e.g. ConvNeXt/Swin teachers) must match
# the torch build: with a CUDA torch the index's pair is right; with the CPU torch the index's
# 0.28.0 is a CUDA build that fails to load, so a local CPU wheel from $MMKD_WHEELS is
# installed by file path (pip would otherwise prefer the index's wheel of the same version),
# or else PyTorch's own CPU index is tried.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
WHEELS=${MMKD_WHEELS:-../shared/wheels}
STAMP="$VENV/.mmkd-installed"

if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements.txt ] && [ "$STAMP" -nt pyproject.toml ] \
        && [ "$STAMP" -nt setup.py ] && [ "$STAMP" -nt scripts/install.sh ] \
        && [ -e mmkd/.mim/configs ]; then
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# (this machine's pip config names index folders that may not exist: drop that noise)
pip() {
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

pip install -q "torch==2.13.0"

if compgen -G "$WHEELS/mmcv-2.1.0-*.whl" >/dev/null; then
    echo "[install] mmcv 2.1.0 from local wheel directory $WHEELS"
    pip install -q --find-links "$WHEELS" "mmcv==2.1.0"
else
    echo "[install] no mmcv wheel in $WHEELS: compiling mmcv 2.1.0 with ops (about 10 minutes)"
    # mmcv 2.1's setup.py needs an old setuptools; requirements.txt restores a current one.
    pip install -q "setuptools<70" wheel
    MMCV_WITH_OPS=1 pip install -q --no-build-isolation "mmcv==2.1.0"
fi

TORCHVISION=0.28.0
if "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
    echo "[install] torchvision $TORCHVISION for the CUDA torch from the package index"
    pip install -q "torchvision==$TORCHVISION"
elif compgen -G "$WHEELS/torchvision-$TORCHVISION-*.whl" >/dev/null; then
    echo "[install] torchvision $TORCHVISION (CPU) from local wheel directory $WHEELS"
    pip install -q --no-deps --force-reinstall "$(compgen -G "$WHEELS/torchvision-$TORCHVISION-*.whl" | head -n1)"
else
    echo "[install] no torchvision wheel in $WHEELS: trying PyTorch's CPU index"
    pip install -q --no-deps --timeout 30 --retries 1 \
        --index-url https://download.pytorch.org/whl/cpu "torchvision==$TORCHVISION" || {
        echo "[install] error: no CPU build of torchvision $TORCHVISION (the package index's is" \
             "a CUDA build that fails on the CPU torch). Put a CPU wheel" \
             "torchvision-$TORCHVISION-*.whl in \$MMKD_WHEELS ($WHEELS) or make" \
             "https://download.pytorch.org/whl/cpu reachable, then rerun." >&2
        exit 1
    }
fi

pip install -q -r requirements.txt
# (editable: setup.py links mmkd/.mim/configs to configs/, where mmkd::<path> resolves)
pip install -q --no-build-isolation --no-deps -e .

# mmpretrain (ConvNeXt/Swin teachers) imports torchvision's compiled ops: check they load.
check_torchvision() {
    "$VENV/bin/python" - <<'PY'
import torch
from torchvision.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
assert keep.tolist() == [0, 2], f'torchvision.ops.nms gave {keep.tolist()}, expected [0, 2]'
import mmpretrain.models  # noqa: F401
PY
}
if ! check_torchvision; then
    echo "[install] error: torchvision does not work with this torch (see above): install a" \
         "torchvision $TORCHVISION built for torch $("$VENV/bin/python" -c \
         'import torch; print(torch.__version__)') (for the CPU torch: a wheel in" \
         "\$MMKD_WHEELS, default ../shared/wheels), then rerun." >&2
    exit 1
fi
touch "$STAMP"
echo "[install] done: $("$VENV/bin/python" -c 'import torch, torchvision, mmcv, mmdet, mmengine, mmpretrain; print("torch", torch.__version__, "torchvision", torchvision.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__, "mmpretrain", mmpretrain.__version__)')"
