package storage

import (
	"errors"
	"fmt"
	"syscall"
)

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

// ErrInvalidBatch is matched (errors.Is) by every error of Batch.Validate: the batch itself is bad
// (a client's input), as opposed to a failure to store a good one.
var ErrInvalidBatch = errors.New("invalid batch")

// InvalidBatchError is what Batch.Validate returns; its message is the reason alone.
type InvalidBatchError struct{ Err error }

func (e *InvalidBatchError) Error() string        { return e.Err.Error() }
func (e *InvalidBatchError) Unwrap() error        { return e.Err }
func (e *InvalidBatchError) Is(target error) bool { return target == ErrInvalidBatch }

// IsDiskFull reports a write that failed for lack of space (ENOSPC) or quota (EDQUOT): not
// corruption, and nothing the writer keeps; writes can succeed again once there is space.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
