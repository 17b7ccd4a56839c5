#!/bin/sh
# nginx (a master and one worker) serving a static file with sendfile, and curl fetching it three times over
# 127.0.0.1:PORT, then a graceful quit. Everything runs in DIR (argv[2]), made by the caller.
set -eu
PORT=$1 DIR=$2
mkdir -p "$DIR/html" "$DIR/logs"
chmod 755 "$DIR" "$DIR/html"
head -c 70000 /dev/zero | tr '\0' 'n' > "$DIR/html/big.txt"
echo hello > "$DIR/html/index.html"
cat > "$DIR/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
error_log stderr;
pid $DIR/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $DIR/tmp;
  proxy_temp_path $DIR/tmp;
  fastcgi_temp_path $DIR/tmp;
  uwsgi_temp_path $DIR/tmp;
  scgi_temp_path $DIR/tmp;
  server { listen 127.0.0.1:$PORT; root $DIR/html; }
}
CONF
nginx -p "$DIR" -c "$DIR/nginx.conf" &
N=$!
i=0
while ! curl -s -o /dev/null "http://127.0.0.1:$PORT/" && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
curl -s -o /dev/null "http://127.0.0.1:$PORT/index.html"
curl -s -o /dev/null "http://127.0.0.1:$PORT/big.txt"
curl -s -o /dev/null "http://127.0.0.1:$PORT/missing"
kill -QUIT $N
wait $N || true
