package coordinator

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/chronogo/chronogo/messages"
)

// Errors callers act on.
var (
	// ErrOverloaded is returned when the coordinator has too many writes in flight; retry later.
	ErrOverloaded error = overloadedError{}
	// ErrPeerDown is the failure of a replica on a node seen down: it was not sent, and gets
	// the request as a hint.
	ErrPeerDown = errors.New("node is down")
	// ErrBadVersion: a caller's version (WriteAt) is too far ahead of the node's clock or too old.
	ErrBadVersion = errors.New("write version out of range")
	// errNoReply is a reply of an unexpected type.
	errNoReply = errors.New("unexpected reply")
)

// overloadedError is ErrOverloaded: nothing was written, and the node asks to be retried later.
type overloadedError struct{}

func (overloadedError) Error() string    { return "coordinator overloaded: too many writes in flight" }
func (overloadedError) Overloaded() bool { return true }

// PartialWriteError reports a write that did not reach its consistency level on every replica
// set. Replica sets that did reach it keep the data, and so may the failed ones' replicas that
// answered: it is not "nothing happened". Retrying the whole write is safe (same points, LWW).
type PartialWriteError struct {
	Op         string // "write" (when empty), "delete" or "update"
	Collection string
	Level      Level
	Failed     []ReplicaSetFailure
	Succeeded  int // replica sets that reached the level
}

// ReplicaSetFailure is one replica set that missed the consistency level.
type ReplicaSetFailure struct {
	BucketID, ReplicaSetID uint64
	Acks, Need             int
	Hinted                 int      // failed replicas whose write was stored as a hint: they catch up
	Errors                 []string // one per failed replica: "vnode 7 on node 2: ..."
	Retryable              bool     // every replica failure was retryable (timeouts, overload, restarts)
	causes                 []error
}

func (e *PartialWriteError) Error() string {
	var sb strings.Builder
	op := e.Op
	if op == "" {
		op = "write"
	}
	fmt.Fprintf(&sb, "partial %s of %s: consistency %v not reached on %d of %d replica sets", op, e.Collection, e.Level, len(e.Failed), len(e.Failed)+e.Succeeded)
	for _, f := range e.Failed {
		fmt.Fprintf(&sb, "; bucket %d replica set %d: %d of %d acks, %d hinted (%s)", f.BucketID, f.ReplicaSetID, f.Acks, f.Need, f.Hinted, strings.Join(f.Errors, ", "))
	}
	return sb.String()
}

// Unwrap returns every replica's error, so errors.Is finds a cause (syscall.ENOSPC for a full disk).
func (e *PartialWriteError) Unwrap() []error {
	var out []error
	for _, f := range e.Failed {
		out = append(out, f.causes...)
	}
	return out
}

// Overloaded reports whether every replica that failed was overloaded (its vnode still stalled at
// the write's deadline, or its coordinator full): the node cannot absorb more now, retry later.
func (e *PartialWriteError) Overloaded() bool {
	for _, f := range e.Failed {
		for _, c := range f.causes {
			var re *ReplyError
			if !errors.As(c, &re) || re.Code != messages.ErrorCode_ERROR_CODE_OVERLOADED {
				return false
			}
		}
	}
	return len(e.Failed) > 0
}

// Retryable reports whether every failure was transient.
func (e *PartialWriteError) Retryable() bool {
	for _, f := range e.Failed {
		if !f.Retryable {
			return false
		}
	}
	return true
}

// replyError turns an ErrorReply-like answer into an error (nil for code OK).
func replyError(code messages.ErrorCode, msg string) error {
	if code == messages.ErrorCode_ERROR_CODE_OK {
		return nil
	}
	return &ReplyError{Code: code, Message: msg}
}

// ReplyError is an error answered by a vnode or a manager.
type ReplyError struct {
	Code    messages.ErrorCode
	Message string
}

func (e *ReplyError) Error() string { return fmt.Sprintf("%v: %s", e.Code, e.Message) }

// Is makes errors.Is(err, syscall.ENOSPC) true for a replica whose disk is full.
func (e *ReplyError) Is(target error) bool {
	return e.Code == messages.ErrorCode_ERROR_CODE_DISK_FULL && target == syscall.ENOSPC
}
