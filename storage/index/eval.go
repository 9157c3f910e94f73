package index

import (
	"bytes"

	"github.com/chronogo/chronogo/storage"
)

// Matches evaluates e on one series key directly, with the semantics of Select (a nil expression
// matches every series). Select goes through the postings; Matches serves callers that hold a key
// (and test doubles that keep documents instead of an index).
func Matches(e Expr, key *storage.SeriesKey) bool {
	switch e := e.(type) {
	case nil:
		return true
	case And:
		for _, c := range e {
			if !Matches(c, key) {
				return false
			}
		}
		return true
	case Or:
		for _, c := range e {
			if Matches(c, key) {
				return true
			}
		}
		return false
	case Not:
		return !Matches(e.E, key)
	case Match:
		v, ok := key.Tag(e.Key)
		same := func(x storage.TagValue) bool { return ok && v.Type == x.Type && bytes.Equal(v.Raw, x.Raw) }
		switch e.Op {
		case OpEq:
			return same(e.Value)
		case OpNe:
			return !same(e.Value)
		case OpIn:
			for _, x := range e.Values {
				if same(x) {
					return true
				}
			}
			return false
		case OpExists:
			return ok
		case OpNotExists:
			return !ok
		case OpPrefix:
			return ok && v.Type == storage.TypeString && bytes.HasPrefix(v.Raw, e.Value.Raw)
		case OpRegex:
			return ok && v.Type == storage.TypeString && e.Regex != nil && e.Regex.Match(v.Raw)
		}
		if !ok || v.Type != e.Value.Type {
			return false
		}
		c := v.Compare(e.Value)
		switch e.Op {
		case OpLt:
			return c < 0
		case OpLte:
			return c <= 0
		case OpGt:
			return c > 0
		case OpGte:
			return c >= 0
		}
	}
	return false
}
