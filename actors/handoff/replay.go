package handoff

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/recordfile"
)

// errUnexpectedReply is matched by answers to a replayed write that are neither a WriteAck nor
// an ErrorReply: the hint is skipped, retrying would not change them.
var errUnexpectedReply = errors.New("unexpected reply to a replayed hint")

// replyError is an error code answered by the target node.
type replyError struct {
	code messages.ErrorCode
	msg  string
}

func (e *replyError) Error() string { return fmt.Sprintf("%v: %s", e.code, e.msg) }

// writeError is the error of the answer to a replayed WriteBatch (nil for a WriteAck OK).
func writeError(res any) error {
	res, err := messages.Unwrap(res)
	if err != nil {
		return err
	}
	switch r := res.(type) {
	case *messages.WriteAck:
		if r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			return nil
		}
		return &replyError{code: r.GetCode(), msg: r.GetMessage()}
	case *messages.ErrorReply: // a replayed delete's answer (or any request's failure)
		if r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			return nil
		}
		return &replyError{code: r.GetCode(), msg: r.GetMessage()}
	case *messages.RenameReply: // a replayed rename's answer
		if r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			return nil
		}
		return &replyError{code: r.GetCode(), msg: r.GetMessage()}
	}
	return fmt.Errorf("%w: %T", errUnexpectedReply, res)
}

// renameBad sets a corrupt segment aside as <name>.bad, durably.
func renameBad(path string) error {
	if err := os.Rename(path, path+BadSuffix); err != nil {
		return fmt.Errorf("quarantining hint segment: %w", err)
	}
	return recordfile.SyncDir(filepath.Dir(path))
}
