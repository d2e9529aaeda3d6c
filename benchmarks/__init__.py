"""``make bench``: the protocol decoder against its peers, and the gateway's latency.

Run ``python -m benchmarks`` (``--help`` for options). Kept free of imports: the footprint
probes start from this package in a bare interpreter.
"""
