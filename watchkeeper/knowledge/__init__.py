"""Knowledge: runbooks and past incidents, retrieval, learning from outcomes."""
