#!/usr/bin/env bash
# Build Delphes 3.5.1 against ROOT from PyPI, for validation/delphes_compare.py and the scripts
# of validation/delphes/ (not for CI).
#
#   DELPHES_GIT=<clone or bare git directory of github.com/delphes/delphes> bash validation/build_delphes.sh
#
# Installs into $PREFIX (default /tmp/delphes-install: bin/DelphesHepMC2, cards/), with ROOT
# 6.40 from the `root==0.1a12` wheel in the virtual environment $VENV (default /tmp/rootvenv).
# Measured: ~4 minutes with make -j2 on 2 cores. Needs cmake, g++, make and git.
set -euo pipefail

: "${DELPHES_GIT:?set DELPHES_GIT to a clone (or bare git directory) of delphes/delphes}"
TAG=${TAG:-3.5.1}
PY=${PY:-python3.11}
VENV=${VENV:-/tmp/rootvenv}
SRC=${SRC:-/tmp/delphes-src}
BUILD=${BUILD:-/tmp/delphes-build}
PREFIX=${PREFIX:-/tmp/delphes-install}
JOBS=${JOBS:-2}

# ROOT from PyPI (its libraries are what DelphesHepMC2 runs with).
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q root==0.1a12
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# The wheel's root-config and CMake targets point at its build-time layout
# (<site>/../mock_site_packages/ROOT/...); make those paths exist.
ln -sfn "$(basename "$SITE")" "$(dirname "$SITE")/mock_site_packages"
ln -sfn .. "$SITE/ROOT/mock_site_packages"

# Sources at the tag, without MinBias.pileup (a large file only pile-up cards read).
rm -rf "$SRC" && mkdir -p "$SRC"
git -C "$DELPHES_GIT" archive "$TAG" -- \
  $(git -C "$DELPHES_GIT" ls-tree --name-only "$TAG" | grep -v '^MinBias.pileup$') | tar -x -C "$SRC"
# The wheel has no Eve/Geom/RGL: build everything but the event display.
sed -i \
  -e 's/^find_package(ROOT REQUIRED COMPONENTS EG Eve Gui GuiHtml)/find_package(ROOT REQUIRED COMPONENTS EG)/' \
  -e 's/^add_subdirectory(display)/# add_subdirectory(display)/' \
  -e '/^add_library(DelphesDisplay SHARED/,/^)/d' \
  -e '/^target_link_libraries(DelphesDisplay/d' \
  -e 's/^install(TARGETS Delphes DelphesDisplay DESTINATION lib)/install(TARGETS Delphes DESTINATION lib)/' \
  "$SRC/CMakeLists.txt"

# The wheel's libfreetype needs its bundled libpng/libbz2 at link time (-rpath-link).
mkdir -p "$BUILD"
cmake -S "$SRC" -B "$BUILD" -DROOT_DIR="$SITE/ROOT/cmake" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$SITE/root.libs" \
  -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$SITE/root.libs" > "$BUILD/cmake.log"
make -C "$BUILD" -j"$JOBS" > "$BUILD/make.log" 2>&1 || { tail -30 "$BUILD/make.log"; exit 1; }
make -C "$BUILD" install > "$BUILD/install.log"
echo "Delphes $TAG installed in $PREFIX (ROOT from $VENV)"
