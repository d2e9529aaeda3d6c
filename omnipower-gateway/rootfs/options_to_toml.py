"""The add-on's options (``/data/options.json``) and the Supervisor's MQTT service → gateway.toml.

Standard library only: it runs in the add-on image before the gateway starts. The gateway then
validates the result exactly as it validates a hand-written file (``--check`` semantics), so
this translation only maps names; it refuses what it cannot map with exit status 2 and a line
the add-on log shows.

    python3 options_to_toml.py OPTIONS_JSON MQTT_JSON OUT_TOML
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STATE_DIR = "/data"


class OptionsError(Exception):
    """An option the user must fix in the add-on's configuration tab."""


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value)


def translate(options: dict[str, Any], mqtt: dict[str, Any]) -> str:
    """The gateway.toml text for *options* and the MQTT service *mqtt* (host, port, user…)."""
    meters = options.get("meters") or []
    if not meters:
        raise OptionsError("no meter configured: add one under 'meters' (name and ccc_port)")
    if not mqtt.get("host"):
        raise OptionsError(
            "no MQTT broker from the Supervisor: install and start the Mosquitto broker add-on"
        )
    lines = ["[gateway]", f"state_dir = {_string(STATE_DIR)}"]
    if options.get("timezone"):
        lines.append(f"timezone = {_string(options['timezone'])}")
    lines += ["", "[mqtt]", f"host = {_string(str(mqtt['host']))}", f"port = {int(mqtt['port'])}"]
    if mqtt.get("username"):
        lines.append(f"username = {_string(str(mqtt['username']))}")
    if mqtt.get("password"):
        lines.append(f"password = {_string(str(mqtt['password']))}")
    if options.get("discovery"):
        lines.append("discovery = true")
    for index, meter in enumerate(meters):
        name = meter.get("name")
        if not name:
            raise OptionsError(f"meters[{index}] needs a name")
        if not meter.get("ccc_port") and not meter.get("optical_port"):
            raise OptionsError(f"meter {name!r} needs ccc_port or optical_port (a serial device)")
        lines += ["", "[[meters]]", f"name = {_string(name)}"]
        for option, key in (
            ("serial", "serial"),
            ("encryption_key", "encryption_key"),
            ("authentication_key", "authentication_key"),
        ):
            if meter.get(option):
                lines.append(f"{key} = {_string(str(meter[option]))}")
        if meter.get("commands"):
            listed = ", ".join(_string(str(c)) for c in meter["commands"])
            lines.append(f"commands = [{listed}]")
        if meter.get("ccc_port"):
            lines += ["", "[meters.ccc]", f"port = {_string(meter['ccc_port'])}"]
        if meter.get("optical_port"):
            lines += ["", "[meters.optical]", f"port = {_string(meter['optical_port'])}"]
            if meter.get("optical_password"):
                lines.append(f"password = {_string(str(meter['optical_password']))}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: options_to_toml.py OPTIONS_JSON MQTT_JSON OUT_TOML", file=sys.stderr)
        return 2
    options_path, mqtt_path, out_path = (Path(a) for a in argv)
    try:
        options = json.loads(options_path.read_text())
        mqtt = json.loads(mqtt_path.read_text()) if mqtt_path.stat().st_size else {}
        text = translate(options, mqtt)
    except (OSError, ValueError) as exc:
        print(f"omnipower add-on: cannot read the options: {exc}", file=sys.stderr)
        return 2
    except OptionsError as exc:
        print(f"omnipower add-on: {exc}", file=sys.stderr)
        return 2
    out_path.write_text(text)
    out_path.chmod(0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
