"""What ingest and transforms share: settings, the warehouse connection and its locks,
canonical rows, text helpers, config-file reading and the errors that fail a task."""
