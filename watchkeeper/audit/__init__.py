"""The tool-call ledger and its queries."""
