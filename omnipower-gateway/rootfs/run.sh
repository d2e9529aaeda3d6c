#!/bin/sh
# Start script of the omnipower add-on: options + the Supervisor's MQTT service → gateway.toml,
# checked, then the gateway in the foreground (the Supervisor stops it with SIGTERM).
#
# OPTIONS (default /data/options.json), CONFIG (default /data/gateway.toml) and MQTT_JSON (a
# file standing in for the Supervisor's answer, for tests) may be set in the environment.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
OPTIONS="${OPTIONS:-/data/options.json}"
CONFIG="${CONFIG:-/data/gateway.toml}"
OMNIPOWER="${OMNIPOWER:-omnipower}"
PYTHON="${PYTHON:-python3}"

say() { echo "omnipower add-on: $*" >&2; }

if [ ! -s "$OPTIONS" ]; then
  say "no options at $OPTIONS: open the add-on's Configuration tab, add a meter, save"
  exit 2
fi

mqtt="$(mktemp)"
trap 'rm -f "$mqtt"' EXIT
if [ -n "${MQTT_JSON:-}" ]; then
  cp "$MQTT_JSON" "$mqtt"
elif [ -n "${SUPERVISOR_TOKEN:-}" ]; then
  # services: mqtt:need in config.yaml makes the Supervisor hand out the broker's address and
  # a user for this add-on (the Mosquitto add-on provides it).
  if ! curl -fsS -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" http://supervisor/services/mqtt |
    "$PYTHON" -c 'import json, sys; json.dump(json.load(sys.stdin).get("data", {}), sys.stdout)' \
      >"$mqtt"; then
    say "the Supervisor has no MQTT service: install and start the Mosquitto broker add-on"
    exit 2
  fi
else
  say "not running under the Supervisor (no SUPERVISOR_TOKEN) and no MQTT_JSON given"
  exit 2
fi

"$PYTHON" "$HERE/options_to_toml.py" "$OPTIONS" "$mqtt" "$CONFIG"
log_level="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("log_level") or "INFO")' "$OPTIONS")"
"$OMNIPOWER" gateway --config "$CONFIG" --check --log-level "$log_level"
exec "$OMNIPOWER" gateway --config "$CONFIG" --log-level "$log_level"
