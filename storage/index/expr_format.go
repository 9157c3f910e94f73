package index

import (
	"strings"
)

// Format renders a predicate for people (explain, logs): `tags.room eq r1 and (host in [a, b] or
// not (dc exists))`; tag values as storage.TagValue.Display shows them.
func Format(e Expr) string {
	var b strings.Builder
	format(&b, e, false)
	return b.String()
}

func format(b *strings.Builder, e Expr, nested bool) {
	switch x := e.(type) {
	case Match:
		b.WriteString(x.Key)
		b.WriteByte(' ')
		b.WriteString(x.Op.String())
		switch x.Op {
		case OpExists, OpNotExists:
		case OpRegex:
			if x.Regex != nil {
				b.WriteString(" /" + x.Regex.String() + "/")
			}
		case OpIn:
			b.WriteString(" [")
			for i, v := range x.Values {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(v.Display())
			}
			b.WriteByte(']')
		default:
			b.WriteString(" " + x.Value.Display())
		}
	case And:
		list(b, []Expr(x), " and ", "every series", nested)
	case Or:
		list(b, []Expr(x), " or ", "no series", nested)
	case Not:
		b.WriteString("not (")
		format(b, x.E, false)
		b.WriteByte(')')
	case nil:
		b.WriteString("every series")
	}
}

func list(b *strings.Builder, es []Expr, sep, empty string, nested bool) {
	if len(es) == 0 {
		b.WriteString(empty)
		return
	}
	if nested && len(es) > 1 {
		b.WriteByte('(')
	}
	for i, e := range es {
		if i > 0 {
			b.WriteString(sep)
		}
		format(b, e, true)
	}
	if nested && len(es) > 1 {
		b.WriteByte(')')
	}
}
