package vnode

import (
	"errors"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// codeOf classifies an engine error for a reply.
func codeOf(err error) messages.ErrorCode {
	var (
		ce *storage.CorruptionError
		pe *storage.PathConflictError
	)
	switch {
	case err == nil:
		return messages.ErrorCode_ERROR_CODE_OK
	case errors.Is(err, engine.ErrWriteStall):
		return messages.ErrorCode_ERROR_CODE_OVERLOADED
	case storage.IsDiskFull(err):
		return messages.ErrorCode_ERROR_CODE_DISK_FULL
	case errors.Is(err, engine.ErrClosed), errors.Is(err, errRestarting):
		return messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	case errors.As(err, &ce):
		return messages.ErrorCode_ERROR_CODE_CORRUPTION
	case errors.As(err, &pe):
		return messages.ErrorCode_ERROR_CODE_PATH_NOT_VIABLE
	case errors.Is(err, errBadRequest):
		return messages.ErrorCode_ERROR_CODE_BAD_REQUEST
	}
	return messages.ErrorCode_ERROR_CODE_INTERNAL
}

var (
	// errRestarting answers writes that were handled but not yet committed when the vnode actor
	// failed: they may or may not survive, and the sender should retry (writes are idempotent).
	errRestarting = errors.New("vnode restarting: write outcome unknown, retry")
	// errStopping answers flush and compaction requests pending when the vnode stops.
	errStopping = errors.New("vnode stopping")
	// errBadRequest marks requests that can never succeed.
	errBadRequest = errors.New("bad request")
)

// errorReply is the reply for err (code OK when err is nil).
func errorReply(err error) *messages.ErrorReply {
	if err == nil {
		return &messages.ErrorReply{}
	}
	return &messages.ErrorReply{Code: codeOf(err), Message: err.Error()}
}
