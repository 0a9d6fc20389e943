#!/usr/bin/env bash
# Install Garrison in .venv and run its main job on the embedded default (SQLite in
# ./garrison-data), with a small fleet of emulated IPS devices (ipsim) registered, polled
# over SNMP and sending TippingPoint traps. Ctrl-C stops Garrison and the fleet.
#
#   GARRISON_DEMO_DEVICES=0 ./scripts/run.sh    # Garrison alone, no fleet
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .

export GARRISON_DATA_DIR="${GARRISON_DATA_DIR:-$PWD/garrison-data}"
# Ports below 1024 move up by 10000 even as root, so the demo never needs privileges.
export GARRISON_SERVER_LOW_PORTS="${GARRISON_SERVER_LOW_PORTS:-shift}"
export GARRISON_SERVER_HOST="${GARRISON_SERVER_HOST:-127.0.0.1}"
# Poll every 15 s rather than every minute, so the demo shows health quickly.
export GARRISON_POLLER_INTERVAL_SECONDS="${GARRISON_POLLER_INTERVAL_SECONDS:-15}"
devices="${GARRISON_DEMO_DEVICES:-3}"
garrison=.venv/bin/garrison

$garrison init
key_file="$GARRISON_DATA_DIR/demo-api-key"
if [ ! -s "$key_file" ]; then
  (umask 077 && $garrison api-keys create admin --name demo --quiet > "$key_file")
fi

fleet_pid=""
if [ "$devices" -gt 0 ]; then
  fleet="$GARRISON_DATA_DIR/demo-fleet.json"
  fleet_options=(--devices "$devices" --seed 7 --snmp-base-port 21161 --mgmt-base-port 24443
                 --manager "127.0.0.1:$($garrison config port snmp-trap)" --rate 2)
  .venv/bin/python -m ipsim fleet-file "${fleet_options[@]}" --write "$fleet" > /dev/null
  community="$GARRISON_DATA_DIR/demo-community"
  (umask 077 && printf 'public\n' > "$community")
  registered=$(COLUMNS=250 $garrison devices list)
  # Register each emulated device once: name and SNMP port from the fleet file.
  # Name, SNMP port, management URL and token from the fleet file.
  .venv/bin/python -c 'import json, sys
for d in json.load(open(sys.argv[1]))["devices"]:
    m = d["management"]
    print(d["name"], d["address"], d["snmp"]["port"], m["url"], m["token"])' "$fleet" |
  while read -r name address port url token; do
    if ! grep -qw "$name" <<< "$registered"; then
      secret="$GARRISON_DATA_DIR/demo-$name-token"
      (umask 077 && printf '%s\n' "$token" > "$secret")
      $garrison devices add "$name" "$address" --port "$port" --community-file "$community" \
        --location "ipsim demo fleet" --mgmt-url "$url" --mgmt-secret-file "$secret"
    fi
  done
  # A threshold policy: a source that trips 20 filters within a minute is quarantined on
  # every device for two minutes (see docs/responder.md).
  if ! $garrison responder show "Demo: quarantine scanners" > /dev/null 2>&1; then
    $garrison responder create scripts/demo-policy.json
  fi
  # The devices keep their management certificates across runs: Garrison pins them.
  .venv/bin/python -m ipsim run "${fleet_options[@]}" --cert-dir "$GARRISON_DATA_DIR/ipsim-certs" \
    > "$GARRISON_DATA_DIR/ipsim.log" 2>&1 &
  fleet_pid=$!
  trap 'kill "$fleet_pid" 2>/dev/null || true' EXIT
fi

https_port=$($garrison config port https)
cat <<EOF

Garrison is starting$([ -n "$fleet_pid" ] && echo " with $devices emulated IPS devices").
The console: https://127.0.0.1:$https_port/ (user admin, the password given at the first run).
In another terminal:
  export GARRISON_DATA_DIR=$GARRISON_DATA_DIR
  .venv/bin/garrison events tail          # events as they arrive
  .venv/bin/garrison devices list         # the fleet and its health
  .venv/bin/garrison responses list       # attackers the demo policy quarantined
  curl -k -H "X-SMS-API-KEY: \$(cat $key_file)" https://127.0.0.1:$https_port/api/v1/users

EOF
$garrison serve
