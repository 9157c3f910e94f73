package index

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func TestFormat(t *testing.T) {
	cases := []struct {
		e    Expr
		want string
	}{
		{nil, "every series"},
		{And{}, "every series"},
		{Match{Key: "m", Op: OpEq, Value: storage.StringTag("a")}, "m eq a"},
		{And{Match{Key: "m.room", Op: OpEq, Value: storage.StringTag("r1")},
			Or{Match{Key: "host", Op: OpIn, Values: []storage.TagValue{storage.StringTag("a"), {Type: storage.TypeInt64, Raw: storage.EncodeTagInt(7)}}},
				Not{Match{Key: "dc", Op: OpExists}}}},
			"m.room eq r1 and (host in [a, 7] or not (dc exists))"},
		{Match{Key: "h", Op: OpRegex, Regex: regexp.MustCompile("^web")}, "h regex /^web/"},
		{Or{}, "no series"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Format(c.e))
	}
}
