package index

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestExprRoundTripRandom: decoded random expressions select exactly the series the originals
// select, and re-encoding a decoded expression gives the same bytes.
func TestExprRoundTripRandom(t *testing.T) {
	w := randomWorld{rand.New(rand.NewPCG(7, 8))}
	keys := make([]storage.SeriesKey, 300)
	for i := range keys {
		k, err := storage.UnmarshalSeriesKey(w.key(t))
		require.NoError(t, err)
		keys[i] = k
	}
	for i := 0; i < 2000; i++ {
		e := w.expr(4)
		enc, err := AppendExpr([]byte{0xEE}, e)
		require.NoError(t, err)
		require.Equal(t, byte(0xEE), enc[0], "appends to dst")
		got, err := UnmarshalExpr(enc[1:])
		require.NoError(t, err, "expr %#v", e)
		for ki := range keys {
			require.Equal(t, Matches(e, &keys[ki]), Matches(got, &keys[ki]), "expr %#v on key %v", e, keys[ki])
		}
		again, err := AppendExpr(nil, got)
		require.NoError(t, err)
		require.Equal(t, enc[1:], again)
	}
}

func TestExprNil(t *testing.T) {
	enc, err := AppendExpr(nil, nil)
	require.NoError(t, err)
	require.Empty(t, enc)
	e, err := UnmarshalExpr(nil)
	require.NoError(t, err)
	require.Nil(t, e)
}

// goldenExprs cover every node and operator.
func goldenExprs() []struct {
	name string
	e    Expr
} {
	m := func(key string, op Op, v any) Match { return Match{Key: key, Op: op, Value: tv(v)} }
	return []struct {
		name string
		e    Expr
	}{
		{"eq string", m("host", OpEq, "a1")},
		{"ne int64", m("dc", OpNe, 5)},
		{"lt int32", m("v", OpLt, int32(-2))},
		{"lte float", m("v", OpLte, 2.5)},
		{"gt bool", m("b", OpGt, false)},
		{"gte string", m("host", OpGte, "")},
		{"prefix", m("region", OpPrefix, "us-")},
		{"regex", Match{Key: "region", Op: OpRegex, Regex: regexp.MustCompile(`^(us|eu)-west$`)}},
		{"exists", Match{Key: "dc", Op: OpExists}},
		{"not exists", Match{Key: "dc", Op: OpNotExists}},
		{"in", Match{Key: "host", Op: OpIn, Values: []storage.TagValue{tv("a"), tv(3)}}},
		{"in empty", Match{Key: "host", Op: OpIn}},
		{"and", And{m("host", OpEq, "a"), Not{Match{Key: "dc", Op: OpExists}}}},
		{"or empty", Or{}},
		{"nested", Or{And{m("a", OpEq, "x")}, Not{Or{m("b", OpEq, 1)}}}},
	}
}

// TestExprGolden freezes the encoding in testdata/expr_v1.golden (one "name: hex" line per
// expression); nodes of different versions must keep understanding each other.
func TestExprGolden(t *testing.T) {
	var out strings.Builder
	for _, g := range goldenExprs() {
		enc, err := AppendExpr(nil, g.e)
		require.NoError(t, err, g.name)
		fmt.Fprintf(&out, "%s: %s\n", g.name, hex.EncodeToString(enc))
	}
	path := filepath.Join("testdata", "expr_v1.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
	golden, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(golden), out.String())

	// a hand-decoded line: Match host == "a1"
	//   01 version, 01 match, 04 "host", 01 OpEq, 02 TypeString, 02 "a1"
	want, _ := hex.DecodeString("01" + "01" + "04" + hex.EncodeToString([]byte("host")) + "01" + "02" + "02" + hex.EncodeToString([]byte("a1")))
	enc, err := AppendExpr(nil, goldenExprs()[0].e)
	require.NoError(t, err)
	require.Equal(t, want, enc)
}

func TestUnmarshalExprErrors(t *testing.T) {
	deep := []byte{exprVersion}
	for range maxExprDepth + 2 {
		deep = append(deep, exprTagNot)
	}
	deep = append(deep, exprTagMatch, 1, 'k', byte(OpExists))
	cases := []struct {
		name string
		src  []byte
		want string
	}{
		{"version", []byte{2, exprTagMatch}, "got version 2"},
		{"only version", []byte{exprVersion}, "unexpected end"},
		{"unknown tag", []byte{exprVersion, 9}, "unknown node tag"},
		{"truncated key", []byte{exprVersion, exprTagMatch, 5, 'h'}, "bytes left"},
		{"empty key", []byte{exprVersion, exprTagMatch, 0, byte(OpExists)}, "empty tag key"},
		{"unknown op", []byte{exprVersion, exprTagMatch, 1, 'k', 99}, "unknown operator"},
		{"zero op", []byte{exprVersion, exprTagMatch, 1, 'k', 0}, "unknown operator"},
		{"missing value", []byte{exprVersion, exprTagMatch, 1, 'k', byte(OpEq)}, "unexpected end"},
		{"bad regex", []byte{exprVersion, exprTagMatch, 1, 'k', byte(OpRegex), 1, '('}, "missing closing"},
		{"in count too big", []byte{exprVersion, exprTagMatch, 1, 'k', byte(OpIn), 50, 2, 0}, "bytes left"},
		{"and count too big", []byte{exprVersion, exprTagAnd, 100}, "bytes left"},
		{"bad uvarint", []byte{exprVersion, exprTagOr, 0x80}, "bad uvarint"},
		{"trailing", []byte{exprVersion, exprTagOr, 0, 0}, "1 trailing bytes"},
		{"not without child", []byte{exprVersion, exprTagNot}, "unexpected end"},
		{"too deep", deep, "too deep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := UnmarshalExpr(c.src)
			require.ErrorContains(t, err, c.want)
			require.Nil(t, e)
		})
	}
}

func TestAppendExprErrors(t *testing.T) {
	var deep Expr = Match{Key: "k", Op: OpExists}
	for range maxExprDepth + 1 {
		deep = Not{deep}
	}
	many := Match{Key: "k", Op: OpIn, Values: make([]storage.TagValue, maxExprNodes+1)}
	cases := []struct {
		name string
		e    Expr
		want string
	}{
		{"empty key", Match{Op: OpExists}, "empty tag key"},
		{"unknown op", Match{Key: "k", Op: 0}, "unknown operator"},
		{"regex without Regex", Match{Key: "k", Op: OpRegex}, "without Regex"},
		{"nil child", And{nil}, "nil sub-expression"},
		{"nil not", Not{}, "nil sub-expression"},
		{"too deep", deep, "too deep"},
		{"too many values", many, "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte{1, 2}
			got, err := AppendExpr(dst, c.e)
			require.ErrorContains(t, err, c.want)
			require.Equal(t, []byte{1, 2}, got, "dst unchanged on error")
		})
	}
}

// FuzzUnmarshalExpr: decoding never panics, and whatever decodes re-encodes to a fixpoint.
func FuzzUnmarshalExpr(f *testing.F) {
	for _, g := range goldenExprs() {
		enc, err := AppendExpr(nil, g.e)
		require.NoError(f, err)
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add([]byte{exprVersion, exprTagNot, exprTagNot})
	f.Fuzz(func(t *testing.T, src []byte) {
		e, err := UnmarshalExpr(src)
		if err != nil {
			return
		}
		enc, err := AppendExpr(nil, e)
		require.NoError(t, err)
		e2, err := UnmarshalExpr(enc)
		require.NoError(t, err)
		enc2, err := AppendExpr(nil, e2)
		require.NoError(t, err)
		require.True(t, bytes.Equal(enc, enc2))
	})
}
