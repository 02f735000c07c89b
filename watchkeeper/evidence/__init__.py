"""LLM-free analysis: host health checks, findings, triage."""
