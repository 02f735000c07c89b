"""Alerts, stateless: normalise every sender's payload to one model, fingerprint, match silences,
decide which incident an alert belongs to. No database and no I/O here: `incidents/` keeps state."""
