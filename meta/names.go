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
