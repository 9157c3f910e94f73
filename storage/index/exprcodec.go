package index

// The wire encoding of tag predicates (Expr). It travels between nodes inside ScanRequest and
// DeleteRequest (messages.proto, field filter); it is not an on-disk format, but nodes of
// different versions must agree on it, so it starts with a version byte and only ever grows.
//
//	encoding := ""                      (a nil Expr: every series)
//	          | version(1)=1 expr       (nothing may follow)
//	expr     := 0x01 match
//	          | 0x02 uvarint(n) expr*n  (And)
//	          | 0x03 uvarint(n) expr*n  (Or)
//	          | 0x04 expr               (Not)
//	match    := str(key) op(1) operand
//	operand  := value                   (OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpPrefix)
//	          | uvarint(n) value*n      (OpIn)
//	          | str(regex source)       (OpRegex; recompiled with regexp.Compile)
//	          | nothing                 (OpExists, OpNotExists)
//	value    := type(1) str(raw)        (a storage.TagValue)
//	str      := uvarint(len) bytes
//
// Decoding never panics: nesting is bounded by maxExprDepth, the number of nodes and values by
// maxExprNodes, string lengths by the input, and anything malformed or left over is an error.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"

	"github.com/chronogo/chronogo/storage"
)

// exprVersion is the first byte of a non-empty encoding.
const exprVersion = 1

// Node tags of the encoding.
const (
	exprTagMatch byte = 0x01
	exprTagAnd   byte = 0x02
	exprTagOr    byte = 0x03
	exprTagNot   byte = 0x04
)

// Bounds checked by both AppendExpr and UnmarshalExpr.
const (
	maxExprDepth = 64      // nesting of And/Or/Not
	maxExprNodes = 1 << 16 // expressions plus OpIn values in one encoding
	maxRegexLen  = 1 << 14 // bytes of one regex source
)

// errExprLimit is returned for expressions beyond the bounds above.
var errExprLimit = errors.New("expression too large or too deep")

// AppendExpr appends the encoding of e to dst (nothing for a nil e). It fails for expressions
// Select would reject (empty keys, unknown operators, OpRegex without a Regex) and for ones beyond
// the decoder's bounds.
func AppendExpr(dst []byte, e Expr) ([]byte, error) {
	if e == nil {
		return dst, nil
	}
	w := exprWriter{buf: append(dst, exprVersion)}
	if err := w.expr(e, 0); err != nil {
		return dst, fmt.Errorf("encoding expression: %w", err)
	}
	return w.buf, nil
}

type exprWriter struct {
	buf   []byte
	nodes int
}

func (w *exprWriter) count(n int) error {
	w.nodes += n
	if w.nodes > maxExprNodes {
		return errExprLimit
	}
	return nil
}

func (w *exprWriter) str(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *exprWriter) value(v storage.TagValue) {
	w.buf = append(w.buf, byte(v.Type))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v.Raw)))
	w.buf = append(w.buf, v.Raw...)
}

func (w *exprWriter) list(tag byte, l []Expr, depth int) error {
	w.buf = append(w.buf, tag)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(l)))
	for _, c := range l {
		if err := w.expr(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (w *exprWriter) expr(e Expr, depth int) error {
	if depth > maxExprDepth {
		return errExprLimit
	}
	if err := w.count(1); err != nil {
		return err
	}
	switch e := e.(type) {
	case And:
		return w.list(exprTagAnd, e, depth)
	case Or:
		return w.list(exprTagOr, e, depth)
	case Not:
		w.buf = append(w.buf, exprTagNot)
		return w.expr(e.E, depth+1)
	case Match:
		return w.match(&e)
	case nil:
		return errors.New("nil sub-expression")
	default:
		return fmt.Errorf("unsupported expression type %T", e)
	}
}

func (w *exprWriter) match(m *Match) error {
	if m.Key == "" {
		return errors.New("match: empty tag key")
	}
	w.buf = append(w.buf, exprTagMatch)
	w.str(m.Key)
	w.buf = append(w.buf, byte(m.Op))
	switch m.Op {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpPrefix:
		w.value(m.Value)
	case OpIn:
		if err := w.count(len(m.Values)); err != nil {
			return err
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(len(m.Values)))
		for _, v := range m.Values {
			w.value(v)
		}
	case OpRegex:
		if m.Regex == nil {
			return fmt.Errorf("match %q: regex operator without Regex", m.Key)
		}
		src := m.Regex.String()
		if len(src) > maxRegexLen {
			return fmt.Errorf("match %q: regex of %d bytes: %w", m.Key, len(src), errExprLimit)
		}
		w.str(src)
	case OpExists, OpNotExists:
	default:
		return fmt.Errorf("match %q: unknown operator %d", m.Key, uint8(m.Op))
	}
	return nil
}

// UnmarshalExpr decodes an encoding made by AppendExpr; an empty src is a nil Expr. Strings and
// tag values are copies: src may be reused afterwards.
func UnmarshalExpr(src []byte) (Expr, error) {
	if len(src) == 0 {
		return nil, nil
	}
	if src[0] != exprVersion {
		return nil, fmt.Errorf("decoding expression: got version %d; want %d", src[0], exprVersion)
	}
	r := exprReader{src: src[1:]}
	e := r.expr(0)
	if r.err == nil && len(r.src) > 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.src))
	}
	if r.err != nil {
		return nil, fmt.Errorf("decoding expression at byte %d: %w", len(src)-len(r.src), r.err)
	}
	return e, nil
}

// exprReader decodes with a sticky error: after the first failure every read returns zero values.
type exprReader struct {
	src   []byte
	nodes int
	err   error
}

func (r *exprReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *exprReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.src) == 0 {
		r.fail(errors.New("unexpected end"))
		return 0
	}
	b := r.src[0]
	r.src = r.src[1:]
	return b
}

// uvarint reads a count or length; it cannot exceed the bytes left, since every counted item
// takes at least one byte.
func (r *exprReader) uvarint() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.src)
	if n <= 0 {
		r.fail(errors.New("bad uvarint"))
		return 0
	}
	r.src = r.src[n:]
	if v > uint64(len(r.src)) {
		r.fail(fmt.Errorf("got length %d; want <= %d bytes left", v, len(r.src)))
		return 0
	}
	return int(v)
}

func (r *exprReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	b := r.src[:n:n]
	r.src = r.src[n:]
	return b
}

func (r *exprReader) count(n int) bool {
	r.nodes += n
	if r.nodes > maxExprNodes {
		r.fail(errExprLimit)
	}
	return r.err == nil
}

func (r *exprReader) value() storage.TagValue {
	t := storage.FieldType(r.byte())
	raw := r.bytes()
	if r.err != nil {
		return storage.TagValue{}
	}
	var cp []byte
	if len(raw) > 0 {
		cp = append([]byte(nil), raw...)
	}
	return storage.TagValue{Type: t, Raw: cp}
}

func (r *exprReader) expr(depth int) Expr {
	if depth > maxExprDepth {
		r.fail(errExprLimit)
		return nil
	}
	if !r.count(1) {
		return nil
	}
	switch tag := r.byte(); tag {
	case exprTagMatch:
		return r.match()
	case exprTagAnd, exprTagOr:
		n := r.uvarint()
		l := make([]Expr, 0, n)
		for i := 0; i < n && r.err == nil; i++ {
			l = append(l, r.expr(depth+1))
		}
		if tag == exprTagAnd {
			return And(l)
		}
		return Or(l)
	case exprTagNot:
		return Not{E: r.expr(depth + 1)}
	default:
		r.fail(fmt.Errorf("unknown node tag %#02x", tag))
		return nil
	}
}

func (r *exprReader) match() Expr {
	key := string(r.bytes())
	op := Op(r.byte())
	if r.err != nil {
		return nil
	}
	if key == "" {
		r.fail(errors.New("match: empty tag key"))
		return nil
	}
	m := Match{Key: key, Op: op}
	switch op {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpPrefix:
		m.Value = r.value()
	case OpIn:
		n := r.uvarint()
		if !r.count(n) {
			return nil
		}
		if n > 0 {
			m.Values = make([]storage.TagValue, 0, n)
		}
		for i := 0; i < n && r.err == nil; i++ {
			m.Values = append(m.Values, r.value())
		}
	case OpRegex:
		src := r.bytes()
		if r.err != nil {
			return nil
		}
		if len(src) > maxRegexLen {
			r.fail(fmt.Errorf("match %q: regex of %d bytes: %w", key, len(src), errExprLimit))
			return nil
		}
		re, err := regexp.Compile(string(src))
		if err != nil {
			r.fail(fmt.Errorf("match %q: %w", key, err))
			return nil
		}
		m.Regex = re
	case OpExists, OpNotExists:
	default:
		r.fail(fmt.Errorf("match %q: unknown operator %d", key, uint8(op)))
		return nil
	}
	return m
}
