#!/usr/bin/env bash
# ws.sh with permessage-deflate: ws_deflate.sh SERVER_BINARY KIND.
exec "$(dirname "$0")/ws.sh" "$@" compression
