#!/usr/bin/env bash
# Installs what is missing, builds the release preset and starts ringbus on
# 127.0.0.1:4222. Extra arguments go to ringbus (try --help).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tools/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ringbus

exec build/release/router/ringbus -a 127.0.0.1 -p 4222 "$@"
