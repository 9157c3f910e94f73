package mongo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"hash/crc32"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var update = flag.Bool("update", false, "rewrite golden testdata files")

// opMsg builds an OP_MSG with a body and optional trailing raw sections.
func opMsg(t testing.TB, reqID int32, flags uint32, body any, extra ...byte) []byte {
	b, err := bson.Marshal(body)
	require.NoError(t, err)
	payload := binary.LittleEndian.AppendUint32(nil, flags)
	payload = append(payload, 0)
	payload = append(payload, b...)
	payload = append(payload, extra...)
	n := MsgHeaderLen + len(payload)
	if flags&FlagChecksumPresent != 0 {
		n += 4
	}
	msg := appendHeader(nil, MsgHeader{MessageLength: int32(n), RequestID: reqID, OpCode: OpCodeMsg})
	msg = append(msg, payload...)
	if flags&FlagChecksumPresent != 0 {
		msg = binary.LittleEndian.AppendUint32(msg, crc32.Checksum(msg, castagnoli))
	}
	return msg
}

// opQuery builds an OP_QUERY.
func opQuery(t testing.TB, reqID int32, ns string, q any) []byte {
	b, err := bson.Marshal(q)
	require.NoError(t, err)
	body := binary.LittleEndian.AppendUint32(nil, 0)
	body = append(body, ns...)
	body = append(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = binary.LittleEndian.AppendUint32(body, uint32(0xffffffff))
	body = append(body, b...)
	msg := appendHeader(nil, MsgHeader{MessageLength: int32(MsgHeaderLen + len(body)), RequestID: reqID, OpCode: OpCodeQuery})
	return append(msg, body...)
}

// docSeq is an OP_MSG kind 1 section.
func docSeq(t testing.TB, id string, docs ...any) []byte {
	var payload []byte
	payload = append(payload, id...)
	payload = append(payload, 0)
	for _, doc := range docs {
		if raw, ok := doc.([]byte); ok { // sent as it is, valid or not
			payload = append(payload, raw...)
			continue
		}
		b, err := bson.Marshal(doc)
		require.NoError(t, err)
		payload = append(payload, b...)
	}
	out := []byte{1}
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(payload)))
	return append(out, payload...)
}

// rawConn is a raw TCP connection to a test server.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(5*time.Second)))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// roundTrip sends msg and returns the reply header and its single document.
func (c *rawConn) roundTrip(msg []byte) (MsgHeader, bson.Raw) {
	_, err := c.nc.Write(msg)
	require.NoError(c.t, err)
	h, body, err := ReadMessage(c.r)
	require.NoError(c.t, err)
	switch h.OpCode {
	case OpCodeMsg:
		m, err := decodeOpMsg(h, body)
		require.NoError(c.t, err)
		return h, m.Body
	case OpCodeReply:
		require.GreaterOrEqual(c.t, len(body), 20)
		require.EqualValues(c.t, 1, binary.LittleEndian.Uint32(body[16:]))
		doc, _, err := readDoc(body[20:], "reply")
		require.NoError(c.t, err)
		return h, doc
	}
	c.t.Fatalf("unexpected reply opcode %v", h.OpCode)
	return h, nil
}

// requireClosed asserts the server closes the connection after msg.
func (c *rawConn) requireClosed(msg []byte) {
	_, _ = c.nc.Write(msg)
	_, err := io.ReadAll(c.r)
	require.NoError(c.t, err, "the server closes the connection (EOF)")
}

func TestRawFrames(t *testing.T) {
	_, addr := startServer(t, Config{}, newMemBackend(t))
	ping := d("ping", 1, "$db", "admin")

	t.Run("op_query handshake", func(t *testing.T) {
		c := dialRaw(t, addr)
		h, doc := c.roundTrip(opQuery(t, 7, "admin.$cmd", d("isMaster", 1, "helloOk", true, "compression", bson.A{"zstd", "snappy"})))
		require.Equal(t, OpCodeReply, h.OpCode)
		require.EqualValues(t, 7, h.ResponseTo)
		require.True(t, doc.Lookup("ismaster").Boolean())
		_, err := doc.LookupErr("compression")
		require.Error(t, err, "compression is never echoed")
	})
	t.Run("op_query other command", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opQuery(t, 8, "test.$cmd", d("find", "x")))
		require.EqualValues(t, 352, doc.Lookup("code").Int32())
	})
	t.Run("op_msg checksum", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, FlagChecksumPresent, ping))
		require.EqualValues(t, 1, doc.Lookup("ok").Double())
		bad := opMsg(t, 2, FlagChecksumPresent, ping)
		bad[len(bad)-1] ^= 0xff
		_, doc = c.roundTrip(bad)
		require.EqualValues(t, 17, doc.Lookup("code").Int32())
		_, doc = c.roundTrip(opMsg(t, 3, 0, ping)) // the connection goes on
		require.EqualValues(t, 1, doc.Lookup("ok").Double())
	})
	t.Run("moreToCome gets no reply", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, err := c.nc.Write(opMsg(t, 1, FlagMoreToCome, ping))
		require.NoError(t, err)
		h, doc := c.roundTrip(opMsg(t, 2, 0, ping))
		require.EqualValues(t, 2, h.ResponseTo, "the first message was not answered")
		require.EqualValues(t, 1, doc.Lookup("ok").Double())
	})
	t.Run("document sequence", func(t *testing.T) {
		b := newMemBackend(t)
		_, addr := startServer(t, Config{}, b)
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, 0, d("create", "s", "timeseries", d("timeField", "ts"), "$db", "db")))
		require.EqualValues(t, 1, doc.Lookup("ok").Double())
		seq := docSeq(t, "documents", d("ts", at(1)), d("ts", at(2)), d("x", 1))
		_, doc = c.roundTrip(opMsg(t, 2, 0, d("insert", "s", "ordered", false, "$db", "db"), seq...))
		require.EqualValues(t, 2, doc.Lookup("n").Int32())
		require.Equal(t, 2, b.count("db", "s"))
		// a field both in the body and a sequence is a protocol error
		_, doc = c.roundTrip(opMsg(t, 3, 0, d("insert", "s", "documents", bson.A{}, "$db", "db"), seq...))
		require.EqualValues(t, 17, doc.Lookup("code").Int32())
	})
	t.Run("bad bson in a sequence document", func(t *testing.T) {
		// Sequence documents are validated as the handler reads them: any bad one fails the whole
		// command with 22 and nothing is written, for an insert as for other commands.
		b := newMemBackend(t)
		_, addr := startServer(t, Config{}, b)
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, 0, d("create", "s", "timeseries", d("timeField", "ts", "metaField", "meta"), "$db", "db")))
		require.EqualValues(t, 1, doc.Lookup("ok").Double())
		corruptions := map[string]func(doc []byte) []byte{
			"string length past its value": func(doc []byte) []byte {
				i := bytes.Index(doc, []byte("text"))
				binary.LittleEndian.PutUint32(doc[i-4:], 200)
				return doc
			},
			"string without its NUL": func(doc []byte) []byte {
				i := bytes.Index(doc, []byte("text"))
				doc[i+4] = 'x'
				return doc
			},
			"nested document length": func(doc []byte) []byte {
				i := bytes.Index(doc, []byte("meta\x00"))
				binary.LittleEndian.PutUint32(doc[i+5:], 3)
				return doc
			},
			"unknown type": func(doc []byte) []byte {
				i := bytes.Index(doc, []byte("sv\x00"))
				doc[i-1] = 0x7f
				return doc
			},
		}
		for name, corrupt := range corruptions {
			t.Run(name, func(t *testing.T) {
				good := mustMarshal(t, d("ts", at(1), "meta", d("h", "a"), "sv", "text"))
				bad := corrupt(slices.Clone([]byte(mustMarshal(t, d("ts", at(2), "meta", d("h", "a"), "sv", "text")))))
				seq := docSeq(t, "documents", good, bad, good)
				for _, ordered := range []bool{true, false} {
					_, doc := c.roundTrip(opMsg(t, 2, 0, d("insert", "s", "ordered", ordered, "$db", "db"), seq...))
					require.EqualValues(t, 22, doc.Lookup("code").Int32(), "%s", doc)
					require.Equal(t, 0, b.count("db", "s"), "nothing of a command with a bad document is written")
				}
				_, doc = c.roundTrip(opMsg(t, 3, 0, d("update", "s", "$db", "db"), docSeq(t, "updates", bad)...))
				require.EqualValues(t, 22, doc.Lookup("code").Int32(), "%s", doc)
			})
		}
	})
	t.Run("bad bson body", func(t *testing.T) {
		c := dialRaw(t, addr)
		msg := opMsg(t, 1, 0, ping)
		msg[MsgHeaderLen+5+4] = 0x7f // the first element's type byte
		_, doc := c.roundTrip(msg)
		require.EqualValues(t, 22, doc.Lookup("code").Int32())
	})
	t.Run("missing $db", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, 0, d("ping", 1)))
		require.EqualValues(t, 40414, doc.Lookup("code").Int32())
	})
	t.Run("unknown section kind", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, 0, ping, 9, 0, 0, 0, 0))
		require.EqualValues(t, 17, doc.Lookup("code").Int32())
	})
	t.Run("unknown required flag", func(t *testing.T) {
		c := dialRaw(t, addr)
		_, doc := c.roundTrip(opMsg(t, 1, 1<<5, ping))
		require.EqualValues(t, 17, doc.Lookup("code").Int32())
	})
	closing := map[string][]byte{
		"length below header": appendHeader(nil, MsgHeader{MessageLength: 8, OpCode: OpCodeMsg}),
		"negative length":     appendHeader(nil, MsgHeader{MessageLength: -1, OpCode: OpCodeMsg}),
		"oversize":            appendHeader(nil, MsgHeader{MessageLength: MaxMessageSize + 1, OpCode: OpCodeMsg}),
		"unknown opcode":      append(appendHeader(nil, MsgHeader{MessageLength: 20, OpCode: 9999}), 0, 0, 0, 0),
		"op_compressed":       append(appendHeader(nil, MsgHeader{MessageLength: 20, OpCode: OpCodeCompressed}), 0, 0, 0, 0),
	}
	for name, msg := range closing {
		t.Run(name, func(t *testing.T) {
			dialRaw(t, addr).requireClosed(msg)
			_, doc := dialRaw(t, addr).roundTrip(opMsg(t, 1, 0, ping)) // the server is still fine
			require.EqualValues(t, 1, doc.Lookup("ok").Double())
		})
	}
}

// goldenHandshake is the OP_QUERY isMaster a Go driver v2 sends first (client metadata fixed).
func goldenHandshake(t testing.TB) []byte {
	return opQuery(t, 1, "admin.$cmd", d("isMaster", int32(1), "helloOk", true,
		"client", d("driver", d("name", "mongo-go-driver", "version", "2.10.0"),
			"os", d("type", "linux", "architecture", "amd64"), "platform", "go1.26"),
		"compression", bson.A{}))
}

// parseHexDump reads `hexdump -C` text.
func parseHexDump(t *testing.T, text string) []byte {
	var out []byte
	for _, line := range strings.Split(text, "\n") {
		if len(line) < 10 || line[8] != ' ' {
			continue
		}
		hexPart := line[10:min(len(line), 58)]
		b, err := hex.DecodeString(strings.ReplaceAll(hexPart, " ", ""))
		require.NoError(t, err, "line %q", line)
		out = append(out, b...)
	}
	return out
}

func TestGoldenHandshake(t *testing.T) {
	const path = "testdata/handshake_opquery.hex"
	msg := goldenHandshake(t)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(hex.Dump(msg)), 0o644))
	}
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	golden := parseHexDump(t, string(text))
	require.Equal(t, msg, golden, "wire encoding changed; run with -update if intended")

	h, body, err := ReadMessage(bytes.NewReader(golden))
	require.NoError(t, err)
	require.Equal(t, MsgHeader{MessageLength: int32(len(golden)), RequestID: 1, OpCode: OpCodeQuery}, h)
	q, err := decodeOpQuery(body)
	require.NoError(t, err)
	require.Equal(t, "admin.$cmd", q.FullCollectionName)
	require.EqualValues(t, -1, q.NumberToReturn)
	require.Equal(t, "mongo-go-driver", q.Query.Lookup("client", "driver", "name").StringValue())

	_, addr := startServer(t, Config{}, newMemBackend(t))
	rh, doc := dialRaw(t, addr).roundTrip(golden)
	require.Equal(t, OpCodeReply, rh.OpCode)
	require.EqualValues(t, 25, doc.Lookup("maxWireVersion").Int32())
}

// fuzzSeeds are well-formed and malformed messages from the table cases above.
func fuzzSeeds(t testing.TB) [][]byte {
	ping := d("ping", 1, "$db", "admin")
	bad := opMsg(t, 2, FlagChecksumPresent, ping)
	bad[len(bad)-1] ^= 0xff
	return [][]byte{
		goldenHandshake(t),
		opMsg(t, 1, 0, ping),
		opMsg(t, 1, FlagChecksumPresent, ping),
		bad,
		opMsg(t, 1, 0, d("insert", "s", "$db", "db"), docSeq(t, "documents", d("ts", at(1)))...),
		opMsg(t, 1, 0, ping, 9, 0, 0, 0, 0),
		appendHeader(nil, MsgHeader{MessageLength: 8, OpCode: OpCodeMsg}),
	}
}

// FuzzReadMessage feeds arbitrary bytes to the framing and decoders: they must never panic.
func FuzzReadMessage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			h, body, err := ReadMessage(r)
			if err != nil {
				return
			}
			switch h.OpCode {
			case OpCodeMsg:
				if m, err := decodeOpMsg(h, body); err == nil {
					if cmd, err := m.Command(); err == nil {
						require.NoError(t, cmd.Validate())
					}
				}
			case OpCodeQuery:
				if q, err := decodeOpQuery(body); err == nil {
					require.NoError(t, q.Query.Validate())
				}
			}
		}
	})
}
