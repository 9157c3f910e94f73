package meta

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidName is wrapped by every name that MongoDB's rules refuse; the wire answers it with
// InvalidNamespace (73), /write with 400. Database names become directory names
// (storage/layout), so no entry point may create a database without ValidDatabaseName.
var ErrInvalidName = errors.New("invalid name")

// NameError is a refused name; its message is mongod's.
type NameError struct{ Msg string }

func (e *NameError) Error() string        { return e.Msg }
func (e *NameError) Is(target error) bool { return target == ErrInvalidName }

func nameError(format string, args ...any) error {
	return &NameError{Msg: fmt.Sprintf(format, args...)}
}

// MaxDatabaseNameLen and MaxNamespaceLen are mongod's limits (bytes).
const (
	MaxDatabaseNameLen = 63
	MaxNamespaceLen    = 255
)

// reservedDatabases hold no time-series data: admin (users and roles), config and local.
var reservedDatabases = map[string]bool{"admin": true, "config": true, "local": true}

// ValidDatabaseName checks a database name as mongod does on Unix: 1 to 63 bytes, none of
// / \ . space " $ or NUL.
func ValidDatabaseName(db string) error {
	if db == "" || len(db) > MaxDatabaseNameLen || strings.ContainsAny(db, "/\\. \"$\x00") {
		return nameError("Invalid database name: '%s'", printable(db))
	}
	return nil
}

// ValidDataDatabase is ValidDatabaseName for a database that is to hold collections: admin,
// config and local cannot.
func ValidDataDatabase(db string) error {
	if err := ValidDatabaseName(db); err != nil {
		return err
	}
	if reservedDatabases[db] {
		return nameError("cannot create a time-series collection in the '%s' database", db)
	}
	return nil
}

// ValidCollectionName checks a collection name as mongod does: not empty, no $ or NUL, not
// starting with "." or "system.", and db.name at most 255 bytes.
func ValidCollectionName(db, name string) error {
	if name == "" || strings.ContainsAny(name, "$\x00") || strings.HasPrefix(name, ".") ||
		strings.HasPrefix(name, "system.") || len(db)+1+len(name) > MaxNamespaceLen {
		return nameError("Invalid namespace specified '%s.%s'", printable(db), printable(name))
	}
	return nil
}

// printable shortens a hostile name for an error message and escapes NUL and other controls.
func printable(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// Hidden collections: a $out fills a staging collection (kind HiddenStaging) that then takes its
// target's place in one catalog step, and the replaced collection waits under a retired name
// (kind HiddenRetired) until its data is dropped. Their names are the target's followed by
// "$kind.nonce"; no client can name one ($ is refused), and listings leave them out.
const (
	HiddenStaging = "out"
	HiddenRetired = "old"
)

// HiddenCollectionName names a hidden collection of kind for target.
func HiddenCollectionName(target, kind string, nonce uint64) string {
	return fmt.Sprintf("%s$%s.%016x", target, kind, nonce)
}

// HiddenKind returns the kind of a hidden collection's name, and false for a client's name.
func HiddenKind(name string) (string, bool) {
	i := strings.IndexByte(name, '$')
	if i < 0 {
		return "", false
	}
	kind, _, ok := strings.Cut(name[i+1:], ".")
	return kind, ok
}

// validHiddenName checks a staging collection's name: a valid target name, then "$out.nonce".
func validHiddenName(db, name string) error {
	i := strings.IndexByte(name, '$')
	if kind, ok := HiddenKind(name); !ok || kind != HiddenStaging {
		return ValidCollectionName(db, name)
	}
	return ValidCollectionName(db, name[:i])
}
