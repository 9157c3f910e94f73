package storage

import "fmt"

// CorruptionError reports bytes on disk that fail a checksum or do not decode.
// Path and Offset say where; the vnode supervisor matches on this type to quarantine
// files instead of restarting forever.
type CorruptionError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corruption in %s at offset %d: %v", e.Path, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }
