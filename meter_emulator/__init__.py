"""A faithful emulator of the Kamstrup OMNIPOWER meter: model, ports and scenarios.

Imports only :mod:`ccc_gateway.protocol` from the gateway, so both share one definition of
every frame.
"""
