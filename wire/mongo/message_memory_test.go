package mongo

import (
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMessageMemoryBudget: messages being received or handled share MessageMemory. While a large
// find is being handled it holds its share; another large message waits for memory and its
// connection is closed after FrameTimeout; small commands still pass; once the find is answered
// its memory serves the next large message.
func TestMessageMemoryBudget(t *testing.T) {
	const budget = 1 << 20
	b := &slowBackend{memBackend: newMemBackend(t), entered: make(chan struct{}), release: make(chan struct{})}
	seedCollection(t, b.memBackend)
	_, addr := startServer(t, Config{MessageMemory: budget, FrameTimeout: 700 * time.Millisecond}, b)
	pad := strings.Repeat("x", 700<<10)
	big := func(reqID int32) []byte {
		return opMsg(t, reqID, 0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}, {Key: "pad", Value: pad}})
	}

	// A: a 700 KiB find that the backend holds
	a := dialRaw(t, addr)
	_, err := a.nc.Write(opMsg(t, 1, 0, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "db"},
		{Key: "filter", Value: bson.D{{Key: "pad", Value: bson.D{{Key: "$ne", Value: pad}}}}}}))
	require.NoError(t, err)
	<-b.entered

	// B: a whole 700 KiB message does not fit beside A's: it is not read, and B is closed after
	// FrameTimeout without a reply
	bc := dialRaw(t, addr)
	start := time.Now()
	go func() { _, _ = bc.nc.Write(big(2)) }()
	got, err := io.ReadAll(bc.r)
	if err != nil { // closed with B's bytes unread: a reset
		require.ErrorIs(t, err, syscall.ECONNRESET)
	}
	require.Empty(t, got, "B got no reply")
	require.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "B waited for memory first")

	// small commands pass beside A
	c := dialRaw(t, addr)
	_, reply := c.roundTrip(opMsg(t, 3, 0, bson.D{{Key: "ping", Value: 1}, {Key: "$db", Value: "admin"}}))
	require.EqualValues(t, 1, reply.Lookup("ok").AsFloat64())

	// A is answered, and its memory serves D's large message
	close(b.release)
	h, body, err := ReadMessage(a.r)
	require.NoError(t, err)
	m, err := decodeOpMsg(h, body)
	require.NoError(t, err)
	require.EqualValues(t, 1, m.Body.Lookup("ok").AsFloat64())
	d := dialRaw(t, addr)
	_, reply = d.roundTrip(big(4))
	require.EqualValues(t, 1, reply.Lookup("ok").AsFloat64())
}
