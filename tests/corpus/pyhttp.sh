#!/bin/sh
# python's http.server on ADDR:PORT (argv[2]: 127.0.0.1 or ::1), fetched by curl (two requests) and by urllib.
set -eu
PORT=$1 ADDR=$2
HOST=$ADDR
case $ADDR in *:*) HOST="[$ADDR]";; esac
python3 -m http.server "$PORT" --bind "$ADDR" >/dev/null 2>&1 &
S=$!
i=0
while ! curl -s -g -o /dev/null "http://$HOST:$PORT/" && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
curl -s -g -o /dev/null "http://$HOST:$PORT/nope"
python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1]).read()" "http://$HOST:$PORT/"
kill $S
wait $S 2>/dev/null || true
