#!/usr/bin/env bash
# Build the folders that carry TVM (and the tuner's other wheels) to a GPU host without network, for Python 3.12.
# The TVM wheel is 100 MB; a carried tree may be 64 MiB, so libtvm_compiler.so travels xz-compressed (58 MB) in .gpu/
# and xgboost/sqlalchemy/alembic travel in .gpu2/ on a second call made while the host is still warm:
#   call 1: carry [".gpu", ".snap"]:  source scripts/device/setup.sh; ...GPU checks that need only TVM + numpy...
#   call 2: carry [".gpu2", ".snap"]: source scripts/device/setup.sh; python3 bench/bench_cuda.py ...
# .snap is `git archive HEAD` unpacked (the committed code), so in-progress edits do not travel.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
for d in .gpu .gpu2 .snap; do grep -qx "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude; done
work=$(mktemp -d)
pyargs=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/whl")
python3 -m pip download -q "${pyargs[@]}" apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.14.post1
python3 -m pip download -q "${pyargs[@]}" xgboost-cpu==3.2.0 sqlalchemy greenlet alembic mako
mkdir -p "$work/site" .gpu .gpu2
(cd "$work/site" && unzip -q -o "$work"/whl/apache_tvm-*.whl && unzip -q -o "$work"/whl/apache_tvm_ffi-*.whl)
xz --x86 --lzma2=preset=9e -T1 -c "$work/site/tvm/lib/libtvm_compiler.so" > .gpu/libtvm_compiler.so.xz
# what a GPU run never loads: the compiler (carried above), bundled third-party sources, the web runtime
rm -rf "$work/site/tvm/lib/libtvm_compiler.so" "$work/site/tvm/3rdparty" "$work/site/tvm/src" "$work/site/tvm/web" \
       "$work/site/tvm_ffi/3rdparty" "$work/site/tvm_ffi/src"
find "$work/site" -name __pycache__ -prune -exec rm -rf {} +
(cd "$work/site" && tar -cf - . | xz -9e -T2 > "$OLDPWD/.gpu/tvm_site.tar.xz")
cp "$work"/whl/xgboost_cpu-*.whl "$work"/whl/sqlalchemy-*.whl "$work"/whl/greenlet-*.whl "$work"/whl/alembic-*.whl "$work"/whl/mako-*.whl .gpu2/
rm -rf .snap && mkdir .snap && git archive HEAD | tar -x -C .snap
rm -rf "$work"
du -sh .gpu .gpu2 .snap
