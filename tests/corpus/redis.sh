#!/bin/sh
# redis-server on 127.0.0.1:PORT and redis-cli: PING, SET, GET, then SHUTDOWN NOSAVE. Nothing is written to disk.
set -eu
PORT=$1 DIR=$2
mkdir -p "$DIR"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" --daemonize no --loglevel warning &
R=$!
i=0
while ! redis-cli -p "$PORT" ping >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
redis-cli -p "$PORT" set syswalk proved >/dev/null
redis-cli -p "$PORT" get syswalk >/dev/null
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
wait $R || true
