package mongo

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzConnection sends arbitrary byte streams (sequences of frames, valid or not) on one
// connection: the server never panics, never holds a connection open after its client closed it,
// answers every reply it sends with a well-formed frame, and keeps serving other clients.
func FuzzConnection(f *testing.F) {
	ping := d("ping", 1, "$db", "admin")
	var seeds [][]byte
	seeds = append(seeds, opMsg(f, 1, 0, ping))
	seeds = append(seeds, append(opMsg(f, 1, 0, d("hello", 1, "$db", "admin")), opMsg(f, 2, 0, ping)...))
	seeds = append(seeds, opMsg(f, 3, 0, d("insert", "m", "$db", "db", "documents", bson.A{d("t", 1)})))
	seeds = append(seeds, opMsg(f, 4, 0, d("create", "m", "$db", "db", "timeseries", d("timeField", "t"))))
	seeds = append(seeds, opMsg(f, 5, 0, d("find", "m", "$db", "db", "batchSize", 1)))
	seeds = append(seeds, opMsg(f, 6, 0, d("getMore", int64(1), "collection", "m", "$db", "db")))
	seeds = append(seeds, opQuery(f, 7, "admin.$cmd", d("isMaster", 1)))
	seeds = append(seeds, []byte{0x00, 0x4c, 0xdc, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0, 1, 2, 3}) // announces 48 MB
	seeds = append(seeds, []byte{0xff, 0xff, 0xff, 0x7f})
	for _, s := range seeds {
		f.Add(s)
	}
	_, addr := startServer(f, Config{FrameTimeout: time.Second, IdleTimeout: 2 * time.Second}, newMemBackend(f))
	f.Fuzz(func(t *testing.T, stream []byte) {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			_, _ = nc.Write(stream)
			_ = nc.(*net.TCPConn).CloseWrite()
		}()
		r := bufio.NewReader(nc)
		for {
			_, _, err := ReadMessage(r)
			if err != nil {
				require.ErrorIs(t, err, io.EOF, "the server ends a connection cleanly, with whole frames")
				break
			}
		}
		// Others are still served.
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write(opMsg(t, 9, 0, ping))
		require.NoError(t, err)
		h, _, err := ReadMessage(bufio.NewReader(c))
		require.NoError(t, err)
		require.EqualValues(t, 9, h.ResponseTo)
	})
}
