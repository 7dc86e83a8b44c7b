"""Results: the JSON schema every run writes, and renderers (table, CSV, JUnit XML, plots)."""
