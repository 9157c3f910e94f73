// Package storage holds the types every tskv package shares: BSON-typed field and tag values,
// series keys and their SeriesIDs, write batches (format: docs/format/batch.md) and the typed corruption
// error. The engine lives in storage/engine.
package storage
