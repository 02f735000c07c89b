"""Report rendering and delivery."""
