"""watchkeeper: a self-hosted AIOps agent built on audited, risk-gated skills."""

__version__ = "0.1.0"
