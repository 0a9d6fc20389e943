#!/usr/bin/env bash
# Install Garrison in .venv and run it on its embedded default (SQLite in ./garrison-data):
# initialise the data directory, make an API key for the first superuser, and serve HTTPS
# on 127.0.0.1:10443 (the console, /api/v1, /metrics) and the client API on 9033.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .

export GARRISON_DATA_DIR="${GARRISON_DATA_DIR:-$PWD/garrison-data}"
# Ports below 1024 move up by 10000 even as root, so the demo never needs privileges.
export GARRISON_SERVER_LOW_PORTS="${GARRISON_SERVER_LOW_PORTS:-shift}"
export GARRISON_SERVER_HOST="${GARRISON_SERVER_HOST:-127.0.0.1}"
garrison=.venv/bin/garrison

$garrison init
key_file="$GARRISON_DATA_DIR/demo-api-key"
if [ ! -s "$key_file" ]; then
  (umask 077 && $garrison api-keys create admin --name demo --quiet > "$key_file")
fi
https_port=$($garrison config port https)
echo
echo "Garrison is starting. In another terminal:"
echo "  curl -k -H \"X-SMS-API-KEY: \$(cat $key_file)\" https://127.0.0.1:$https_port/api/v1/users"
echo
exec $garrison serve
