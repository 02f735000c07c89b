"""Alertmanager's fingerprint of a label set, so an alert we hash matches the one Alertmanager shows.

The same as `model.LabelSet.Fingerprint()` in prometheus/common (`model/signature.go`,
`labelSetToFingerprint`): FNV-1a 64 over the label names in byte order, each name and value followed
by the separator byte 0xff, printed as 16 hex digits. The empty set hashes to the FNV offset basis.
"""

from __future__ import annotations

from collections.abc import Mapping

_OFFSET64 = 0xCBF29CE484222325
_PRIME64 = 0x100000001B3
_MASK64 = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = b"\xff"  # never part of valid UTF-8, so `a=bc` and `ab=c` cannot collide


def fingerprint(labels: Mapping[str, str]) -> str:
    """`%016x` of the FNV-1a 64 hash Alertmanager computes for these labels."""
    h = _OFFSET64
    # Go sorts the names as strings, which compares bytes; UTF-8 keeps code-point order, so sorting str agrees.
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR:
            h = ((h ^ byte) * _PRIME64) & _MASK64
    return f"{h:016x}"
