"""The trace explorer (X1–X4): parameters, column filters, keyset-paginated queries, the
API views and the console page. Exports (X5) reuse the same parameters and SQL."""
