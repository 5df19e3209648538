"""Cross-cutting plumbing with no domain: base model, errors, audit log, roles, API auth."""
