"""Cross-cutting HTTP pieces: problem+json, middleware, logging, metrics."""
