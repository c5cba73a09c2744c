#!/usr/bin/env bash
# Check that mmkd installs into a user's existing mmdet environment and trains from there.
#
#   bash scripts/check_plugin_install.sh [WORK_DIR]
#
# 1. A fresh venv stands for the user's environment: torch 2.13.0 (whatever build pip picks,
#    here the local CPU wheel), mmcv 2.1.0 from $MMKD_WHEELS (default ../shared/wheels,
#    relative to the repository), mmengine and mmdet 3.3.0.
# 2. `pip install <repo>`: a normal install with dependency resolution; torch must stay the
#    very installation the user had.
# 3. From a project folder outside the checkout: copy a shipped mmkd method config into the
#    project (python -m mmkd.configs copy), write the project's own config inheriting it, make
#    a small COCO-format dataset, and train 2 iterations with mmdet's own tools/train.py.
# 4. The training log must list mmkd's reliability hooks, which the pair bases' runner_type
#    (mmkd.DistillationRunner) adds under any launcher.
#
# WORK_DIR (default: a temporary folder, removed at the end) holds the venv and the project.
# PYTHON picks the interpreter (default python3; the mmcv wheel must match its version).
# Training uses OMP_NUM_THREADS (default 1: a few threads per core slow a small CPU run down).
set -euo pipefail
# The user's environment sees only what is installed in it (not, e.g., a checkout on PYTHONPATH).
unset PYTHONPATH PYTHONHOME PIP_REQUIRE_VIRTUALENV

REPO=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=$(cd "$REPO" && realpath -m "${MMKD_WHEELS:-../shared/wheels}")
PYTHON=${PYTHON:-python3}
if [ $# -ge 1 ]; then
    WORK=$(realpath -m "$1")
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
VENV="$WORK/user-env"
PROJECT="$WORK/my-project"

step() { echo "[check] $*"; }
fail() { echo "[check] FAILED: $*" >&2; exit 1; }
pip() {
    # (this machine's pip config names index folders that may not exist: drop that noise)
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

compgen -G "$WHEELS/mmcv-2.1.0-*.whl" >/dev/null \
    || fail "no mmcv-2.1.0 wheel in $WHEELS: set MMKD_WHEELS to the folder that has it."
case "$REPO/" in "$WORK"/*) fail "WORK_DIR $WORK contains the checkout: pick another.";; esac

step "user's mmdet environment in $VENV"
rm -rf "$VENV" "$PROJECT"
"$PYTHON" -m venv "$VENV"
started=$SECONDS
# (--no-compile: the environment's .pyc files do not matter to the check and take a while)
pip install -q --no-compile "torch==2.13.0"
# mmengine 0.10 imports pkg_resources, which setuptools 81 removed.
pip install -q --no-compile --find-links "$WHEELS" "mmcv==2.1.0" "mmengine" "mmdet==3.3.0" \
    "setuptools<81"
step "environment made in $((SECONDS - started)) s"

torch_state() {
    "$VENV/bin/python" -c 'import os, torch; s = os.stat(torch.__file__)
print(torch.__version__, s.st_ino, s.st_mtime_ns)'
}
torch_before=$(torch_state)
pip freeze | sort > "$WORK/freeze-before.txt"
step "torch before installing mmkd: ${torch_before%% *}"

step "pip install $REPO"
started=$SECONDS
pip install -q "$REPO"
step "pip install of mmkd took $((SECONDS - started)) s"
pip freeze | sort > "$WORK/freeze-after.txt"
step "packages pip added or changed: $(comm -13 "$WORK/freeze-before.txt" "$WORK/freeze-after.txt" \
    | sed 's/ @ .*//' | tr '\n' ' ')"
torch_after=$(torch_state)
[ "$torch_after" = "$torch_before" ] \
    || fail "installing mmkd replaced torch ($torch_before -> $torch_after)."
step "torch kept: ${torch_after%% *}"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
step "sizes: environment $(du -sh "$VENV" | cut -f1), mmkd $(du -sh "$SITE/mmkd" | cut -f1)" \
     "($(find "$SITE/mmkd/.mim/configs" -name '*.py' | wc -l) shipped configs)"

step "user's project in $PROJECT"
mkdir -p "$PROJECT/configs"
cd "$PROJECT"
"$VENV/bin/python" -c 'import mmkd, sys; sys.exit(mmkd.__file__.startswith(sys.argv[1]))' "$REPO/" \
    || fail "mmkd is imported from the checkout, not from the installed package."
"$VENV/bin/python" -m mmkd.configs copy mmkd::reviewkd/faster-rcnn_r101-r18_fpn_1x_coco.py configs/
"$VENV/bin/python" -c 'from mmkd.data import make_shapes_dataset
data = make_shapes_dataset("data/shapes", num_train=4, num_val=2, image_size=96)
assert data["classes"] == ("rectangle", "ellipse", "triangle"), "my_reviewkd.py lists other classes"'

cat > configs/my_reviewkd.py <<'EOF'
# ReviewKD from mmkd on this project's dataset (COCO format, three classes).
_base_ = './faster-rcnn_r101-r18_fpn_1x_coco.py'  # python -m mmkd.configs copy mmkd::reviewkd/...

classes = ('rectangle', 'ellipse', 'triangle')
data_root = 'data/shapes/'
# Both detectors predict this project's classes. No downloads: the student starts from
# scratch and the teacher checkpoint would be this project's own teacher. (The base names the
# teacher by its config file; overriding its settings restates that file.)
model = dict(
    student=dict(backbone=dict(init_cfg=None), roi_head=dict(bbox_head=dict(num_classes=3))),
    teacher=dict(_delete_=True, cfg_path='mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py',
                 backbone=dict(init_cfg=None), roi_head=dict(bbox_head=dict(num_classes=3))),
    teacher_ckpt=None)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(96, 96), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 pipeline=train_pipeline))
# One epoch of the four training images: two iterations.
train_cfg = dict(max_epochs=1, val_interval=2)
val_dataloader, val_cfg, val_evaluator = None, None, None
default_hooks = dict(logger=dict(interval=1))
EOF

step "training through mmdet's own tools/train.py"
started=$SECONDS
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$VENV/bin/python" "$SITE/mmdet/.mim/tools/train.py" \
    configs/my_reviewkd.py --work-dir work_dirs/my_reviewkd 2>&1 | tee "$WORK/train.log" \
    || fail "training failed (log above)."
grep -q "Epoch(train) \[1\]\[2/2\].*distill_reviewkd_loss" "$WORK/train.log" \
    || fail "the log shows no second training iteration with the ReviewKD loss."
step "trained 2 iterations with the ReviewKD loss ($((SECONDS - started)) s)"

hooks=$(sed -n '/Hooks will be executed in the following order/,/^[0-9][0-9]\/[0-9][0-9] /p' "$WORK/train.log")
missing=""
for hook in RandomStateHook CheckpointGuardHook TrainDataCheckHook; do
    grep -q "$hook" <<<"$hooks" || missing="$missing $hook"
done
[ -z "$missing" ] || fail "mmdet's train.py ran without mmkd's reliability hooks:$missing" \
    "(the pair bases set runner_type='mmkd.DistillationRunner', which adds them)."
step "mmkd's reliability hooks are registered"
step "OK"
