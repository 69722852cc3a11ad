# Source on the GPU host from the repo root: unpack the carried TVM (.gpu) and wheels (.gpu2) into /tmp/site
# (each only when carried and not yet there) and put /tmp/site and the committed code (.snap) on PYTHONPATH.
if [ ! -f /tmp/site/tvm/lib/libtvm_compiler.so ] && [ -f .gpu/tvm_site.tar.xz ]; then
  mkdir -p /tmp/site
  tar -xJf .gpu/tvm_site.tar.xz -C /tmp/site
  xz -dc .gpu/libtvm_compiler.so.xz > /tmp/site/tvm/lib/libtvm_compiler.so
fi
if [ -d .gpu2 ] && [ ! -d /tmp/site/xgboost ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu2/*.whl
fi
if [ ! -f /tmp/site/tvm/lib/libtvm_compiler.so ]; then
  echo "no TVM in /tmp/site: carry .gpu (the host was cold)" >&2
fi
export PYTHONPATH=/tmp/site:$PWD/.snap PYTHONUNBUFFERED=1
