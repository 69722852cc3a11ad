#!/usr/bin/env bash
# An emulated aarch64 board for opforge's edge path: a Debian arm64 sysroot with python3 and
# the aarch64 apache-tvm wheel, running `python -m tvm.exec.rpc_server` under qemu-aarch64-static,
# registered at a TVM RPC tracker. Kernels are cross-compiled on this machine and measured there.
#
#   scripts/edge/aarch64_board.sh setup                 # sysroot + wheels (once; ~5-10 min)
#   scripts/edge/aarch64_board.sh python -c 'import tvm; print(tvm.__version__)'
#   scripts/edge/aarch64_board.sh server HOST:PORT KEY  # serve, registered at the tracker
#
# Timings measured under emulation mean nothing about a real board: the path is real
# (cross-compiled .so, uploaded over RPC, loaded and run by aarch64 TVM), the numbers are not.
#
# How it runs without binfmt_misc (containers rarely have it): the sysroot's python runs as
# `qemu-aarch64-static -L ROOT ROOT/usr/bin/python3.11`, and the launcher written by `setup`
# (ROOT/../python-aarch64, a host shell script) is set as sys.executable, so the processes the
# RPC server starts (tvm's PopenWorker runs `sys.executable -m tvm.exec.popen_worker`) are
# emulated too.
set -euo pipefail

BOARD_DIR=${OPFORGE_BOARD_DIR:-$HOME/.cache/opforge/board-aarch64}
ROOT=$BOARD_DIR/rootfs
SITE=$BOARD_DIR/site-packages
LAUNCHER=$BOARD_DIR/python-aarch64
MIRROR=${OPFORGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm  # python3.11, the CPython of the cp311 wheels below
TVM_WHEELS=(apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.14.post1)
PY_WHEELS=(numpy==2.4.6 ml_dtypes==0.6.0 typing_extensions cloudpickle psutil)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

setup() {
  bash "$here/install_toolchains.sh" --board
  mkdir -p "$BOARD_DIR"
  if [[ ! -x $ROOT/usr/bin/python3.11 ]]; then
    # --foreign: download and unpack only; the second stage would need binfmt_misc or a chroot
    # that can exec aarch64, and nothing here needs the packages configured
    debootstrap --arch=arm64 --foreign --variant=minbase \
      --include=python3.11-minimal,libpython3.11-stdlib,libstdc++6,libgcc-s1,zlib1g \
      "$SUITE" "$ROOT" "$MIRROR"
    # the first stage unpacks only the "required" set; unpack what --include fetched too
    # (what the second stage would do, less the maintainer scripts: nothing here needs them)
    for deb in "$ROOT"/var/cache/apt/archives/*.deb; do
      dpkg-deb -x "$deb" "$ROOT"
    done
  fi
  cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
  if [[ ! -d $SITE/tvm ]]; then
    local wheels=$BOARD_DIR/wheels
    mkdir -p "$wheels" "$SITE"
    python -m pip download --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
      --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
      -d "$wheels" "${TVM_WHEELS[@]}" "${PY_WHEELS[@]}"
    # a wheel is a zip laid out as site-packages: unpacking it is installing it (no aarch64 pip here)
    for w in "$wheels"/*.whl; do
      python -m zipfile -e "$w" "$SITE"
    done
  fi
  cat > "$LAUNCHER" <<LAUNCH
#!/usr/bin/env bash
export PYTHONPATH="$SITE\${OPFORGE_BOARD_PYTHONPATH:+:\$OPFORGE_BOARD_PYTHONPATH}"
export PYTHONNOUSERSITE=1 OPFORGE_BOARD_LAUNCHER="$LAUNCHER"
exec /usr/bin/qemu-aarch64-static -L "$ROOT" "$ROOT/usr/bin/python3.11" "\$@"
LAUNCH
  chmod +x "$LAUNCHER"
  # sys.executable must be the launcher before multiprocessing or tvm's popen pool read it
  cat > "$SITE/opforge_board_boot.py" <<'BOOT'
"""Run a module as __main__ with sys.executable pointing at the host launcher of this board."""
import os, runpy, sys
sys.executable = os.environ["OPFORGE_BOARD_LAUNCHER"]
module = sys.argv[1]
sys.argv = [module] + sys.argv[2:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
BOOT
  "$LAUNCHER" -c 'import platform, numpy, tvm; print("board ready:", platform.machine(), "python", platform.python_version(), "numpy", numpy.__version__, "tvm", tvm.__version__)'
}

case "${1:-}" in
  setup)
    setup
    ;;
  python)
    shift
    exec "$LAUNCHER" "$@"
    ;;
  server)
    [[ $# -eq 3 ]] || { echo "usage: $0 server TRACKER_HOST:PORT KEY" >&2; exit 2; }
    [[ -x $LAUNCHER ]] || { echo "no board at $BOARD_DIR; run: $0 setup" >&2; exit 1; }
    exec "$LAUNCHER" -m opforge_board_boot tvm.exec.rpc_server --host 127.0.0.1 --port 9300 --port-end 9399 \
      --tracker "$2" --key "$3"
    ;;
  *)
    echo "usage: $0 setup | python ARGS... | server TRACKER_HOST:PORT KEY" >&2
    exit 2
    ;;
esac
