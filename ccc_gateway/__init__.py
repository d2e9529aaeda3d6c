"""omnipower gateway: Kamstrup OMNIPOWER CCC/optical port → MQTT.

The pure protocol core lives in :mod:`ccc_gateway.protocol` and is shared with the emulator.
"""

__version__ = "0.1.0"
