"""Risk classes, callers, approvals and the gate. Knows nothing about skills."""
