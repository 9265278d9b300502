#!/bin/sh
# Runs one Argus process in the container: the first argument names it, the rest pass through.
# The heap limits are those of package.json's scripts; NODE_OPTIONS (read by node itself) can add to them.
set -eu
process="${1:-worker}"
[ "$#" -gt 0 ] && shift
case "$process" in
  worker)          exec node --max-old-space-size=256 --max-semi-space-size=8 /app/dist/workers/worker.js "$@" ;;
  batch-worker)    exec node --max-old-space-size=192 --max-semi-space-size=8 /app/dist/workers/batch-worker.js "$@" ;;
  training-worker) exec node --max-old-space-size=256 --max-semi-space-size=8 /app/dist/workers/training-worker.js "$@" ;;
  dispatcher)      exec node /app/dist/workers/dispatcher.js "$@" ;;
  gateway)         exec node /app/dist/client/gateway/server.js "$@" ;;
  argus)           exec node /app/bin/argus "$@" ;;
  *)
    echo "argus image: unknown process '$process'; use worker, batch-worker, training-worker, dispatcher, gateway or argus <command>" >&2
    exit 64 ;;
esac
