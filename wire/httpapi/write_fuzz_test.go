package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/lineproto"
)

// checkingWriter stands in for the backend and checks what /write hands it.
type checkingWriter struct {
	t      *testing.T
	called bool
}

func (w *checkingWriter) WriteLines(_ context.Context, db string, b *lineproto.Batches) error {
	w.called = true
	values := 0
	for m, batch := range b.ByMeasurement {
		require.NotEmpty(w.t, m)
		require.NoError(w.t, batch.Validate(), "measurement %q", m)
		values += batch.NumValues()
	}
	require.Equal(w.t, b.Values, values)
	return nil
}

// FuzzWriteBody sends arbitrary bodies (and precisions) to /write: the handler never panics, answers
// 204, 400 or 413 only, and hands the writer only batches that storage accepts; a body the parser
// refuses reaches no writer.
func FuzzWriteBody(f *testing.F) {
	for _, s := range []string{
		"cpu,host=a usage=1.5,n=3i 1700000000\n",
		"cpu,host=a v=1 9223372036854775807",
		"cpu,host=a v=\"s\\\"q\",b=t 1\n# comment\n\nmem,x=y f=1e308",
		"m,t=\\, v=1",
		"a b=1,b=2 1",
		"c\x00pu v=1",
		"cpu " + string(bytes.Repeat([]byte("f=1,"), 40)) + "g=1",
	} {
		f.Add([]byte(s), "s")
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, body []byte, precision string) {
		w := &checkingWriter{t: t}
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		h := Handler(w, func(context.Context) error { return nil }, Options{Log: l, MaxBodySize: 1 << 16})
		req := httptest.NewRequest(http.MethodPost, "/write?db=fuzz&precision="+urlEscape(precision), bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent:
			require.True(t, w.called)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			require.False(t, w.called, "a refused body reached the writer")
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}

func urlEscape(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}
