// Package mongoerr holds the MongoDB errors ChronoGo returns on the wire: numeric code, code name
// and message, exactly as MongoDB spells them, so drivers and tests can match them.
package mongoerr

import "fmt"

// Code is a MongoDB error code.
type Code int32

// The codes ChronoGo uses (names as in MongoDB's error_codes.yml).
const (
	InternalError             Code = 1
	BadValue                  Code = 2
	NoSuchKey                 Code = 4
	FailedToParse             Code = 9
	Unauthorized              Code = 13
	TypeMismatch              Code = 14
	IllegalOperation          Code = 20
	NamespaceNotFound         Code = 26
	IndexNotFound             Code = 27
	CursorNotFound            Code = 43
	NamespaceExists           Code = 48
	MaxTimeMSExpired          Code = 50
	CommandNotFound           Code = 59
	InvalidOptions            Code = 72
	PathNotViable             Code = 28
	ConflictingUpdateOps      Code = 40
	InvalidNamespace          Code = 73
	IndexOptionsConflict      Code = 85
	IndexKeySpecsConflict     Code = 86
	CannotCreateIndex         Code = 67
	CommandNotSupported       Code = 115
	CommandNotSupportedOnView Code = 166
	Location15998             Code = 15998
	Location16410             Code = 16410
	Location40323             Code = 40323
	Location40324             Code = 40324
	IDLFailedToParse          Code = 40414
	IDLUnknownField           Code = 40415
	ProtocolError             Code = 17
	WriteConflict             Code = 112
	HostUnreachable           Code = 6
	ExceededTimeLimit         Code = 262
	InvalidBSON               Code = 22
	UnsupportedOpQueryCommand Code = 352
	BSONObjectTooLarge        Code = 10334
	InvalidLength             Code = 16
	OutOfDiskSpace            Code = 14031
	ExceededMemoryLimit       Code = 146
	// QueryExceededMemoryLimitNoDiskUseAllowed: a blocking stage passed its memory limit with
	// allowDiskUse false
	QueryExceededMemoryLimitNoDiskUseAllowed Code = 292
	// QuotaExceeded: a tenant quota refuses the command (mongod's 12501)
	QuotaExceeded Code = 12501
	// WriteConcernFailed: a write was applied but did not reach its write concern
	WriteConcernFailed Code = 64
	// IngressRequestRateLimitExceeded: the server is overloaded (mongod 8.0's code for it)
	IngressRequestRateLimitExceeded Code = 462
	// UnknownReplWriteConcern: a writeConcern w names a mode the cluster does not have
	UnknownReplWriteConcern Code = 79
	AuthenticationFailed    Code = 18
	UserNotFound            Code = 11
	RoleNotFound            Code = 31
	MechanismUnavailable    Code = 334
	Location51003           Code = 51003 // createUser of a user that exists
	// DuplicateKey: a write would give a unique index (_id) a second document with one key
	DuplicateKey Code = 11000
	// OperationFailed: a plain collection is at its limit of documents or bytes
	OperationFailed Code = 96
	// ImmutableField: an update would change a document's _id
	ImmutableField Code = 66
	// DollarPrefixedFieldName: a replacement document has a $-prefixed field
	DollarPrefixedFieldName Code = 52
	// Interrupted: killOp stopped the operation
	Interrupted Code = 11601
	// CannotIndexParallelArrays: a compound index would take arrays from two fields of a document
	CannotIndexParallelArrays Code = 171
)

var names = map[Code]string{
	InternalError: "InternalError", BadValue: "BadValue", NoSuchKey: "NoSuchKey", FailedToParse: "FailedToParse",
	Unauthorized: "Unauthorized", TypeMismatch: "TypeMismatch", IllegalOperation: "IllegalOperation",
	NamespaceNotFound: "NamespaceNotFound", IndexNotFound: "IndexNotFound", CursorNotFound: "CursorNotFound",
	NamespaceExists: "NamespaceExists", MaxTimeMSExpired: "MaxTimeMSExpired", CommandNotFound: "CommandNotFound",
	InvalidOptions: "InvalidOptions", InvalidNamespace: "InvalidNamespace", IndexOptionsConflict: "IndexOptionsConflict",
	IndexKeySpecsConflict: "IndexKeySpecsConflict", CannotCreateIndex: "CannotCreateIndex",
	CommandNotSupported: "CommandNotSupported", CommandNotSupportedOnView: "CommandNotSupportedOnView",
	IDLFailedToParse: "IDLFailedToParse", IDLUnknownField: "IDLUnknownField", ProtocolError: "ProtocolError",
	WriteConflict: "WriteConflict", HostUnreachable: "HostUnreachable", ExceededTimeLimit: "ExceededTimeLimit",
	InvalidBSON: "InvalidBSON", UnsupportedOpQueryCommand: "UnsupportedOpQueryCommand",
	BSONObjectTooLarge: "BSONObjectTooLarge", InvalidLength: "InvalidLength",
	PathNotViable: "PathNotViable", ConflictingUpdateOps: "ConflictingUpdateOperators",
	OutOfDiskSpace: "OutOfDiskSpace", ExceededMemoryLimit: "ExceededMemoryLimit",
	QueryExceededMemoryLimitNoDiskUseAllowed: "QueryExceededMemoryLimitNoDiskUseAllowed",
	QuotaExceeded:                            "QuotaExceeded",
	WriteConcernFailed:                       "WriteConcernFailed", IngressRequestRateLimitExceeded: "IngressRequestRateLimitExceeded",
	AuthenticationFailed: "AuthenticationFailed", UserNotFound: "UserNotFound", RoleNotFound: "RoleNotFound",
	MechanismUnavailable: "MechanismUnavailable", UnknownReplWriteConcern: "UnknownReplWriteConcern",
	DuplicateKey: "DuplicateKey", OperationFailed: "OperationFailed", ImmutableField: "ImmutableField",
	DollarPrefixedFieldName: "DollarPrefixedFieldName", Interrupted: "Interrupted",
	CannotIndexParallelArrays: "CannotIndexParallelArrays",
}

// Name is the code name MongoDB reports in codeName ("Location<code>" for unnamed codes).
func (c Code) Name() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("Location%d", int32(c))
}

// Error is an error a client sees as {ok: 0, errmsg, code, codeName}.
type Error struct {
	Code Code
	Msg  string
	// Cause, when set, is what errors.Is/As also match (the error the code was given for).
	Cause error
	// Labels are the reply's errorLabels, e.g. RetryableWriteError: a driver may retry the write.
	Labels []string
	// Extra is a BSON document whose fields the error document also gets (a duplicate key's
	// keyPattern and keyValue), or nil.
	Extra []byte
}

// LabelRetryableWrite tells drivers a write may be retried safely (ChronoGo's writes are
// idempotent: a retry carries the same points, and last-write-wins keeps one copy).
const LabelRetryableWrite = "RetryableWriteError"

func (e *Error) Unwrap() error { return e.Cause }

// Wrap returns an error with code whose message is cause's, matching cause for errors.Is.
func Wrap(code Code, cause error) *Error {
	return &Error{Code: code, Msg: cause.Error(), Cause: cause}
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code.Name(), int32(e.Code), e.Msg)
}

// New returns an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
