"""Footprint probe, run in a fresh interpreter by :mod:`benchmarks.footprint`.

``python -m benchmarks._probe DECODER ROUNDS`` with the frames on stdin (one per line: frame,
encryption key, authentication key in hex, ``-`` for none). Prints the RSS in KiB before
anything else is imported, after the decoder's library is imported, after ROUNDS decodes of
every frame it supports, the peak RSS, the import seconds and the number of frames decoded.
The baseline is read before the harness itself (:mod:`benchmarks.peers`) is imported, so its
small cost is counted against every decoder alike.
"""

import sys
import time


def _status_kib() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def main() -> None:
    base = _status_kib()["VmRSS"]
    from benchmarks.peers import Unsupported, decoder

    chosen = decoder(sys.argv[1])
    rounds = int(sys.argv[2])
    start = time.perf_counter()
    chosen.load()
    imported = time.perf_counter() - start
    after_import = _status_kib()["VmRSS"]
    calls = []
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        data, ek, ak = (None if x == "-" else bytes.fromhex(x) for x in line.split(" "))
        try:
            call = chosen.bind(data or b"", ek, ak)
        except Unsupported:
            continue
        calls.append(call)
    for _ in range(rounds):
        for call in calls:
            call()
    status = _status_kib()
    print(base, after_import, status["VmRSS"], status["VmHWM"], imported, len(calls))


if __name__ == "__main__":
    main()
