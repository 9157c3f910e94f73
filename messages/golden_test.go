package messages

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/*.hex golden files")

// goldenMessages are fixed messages whose encodings are frozen in testdata/<name>.hex: a change of
// the wire format shows up as a readable diff.
var goldenMessages = []struct {
	name string
	msg  proto.Message
}{
	{"envelope", &Envelope{Version: 1, TypeName: "chronogo.messages.WriteAck", Payload: []byte{0x08, 0x2a}}},
	{"write_batch", &WriteBatch{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11,
		Version: 0x0192_0000_0001, Batch: []byte{0x01, 0x02, 0x03}, Compressed: true, Consistency: Consistency_CONSISTENCY_QUORUM}},
	{"write_ack", &WriteAck{Seq: 42, Code: ErrorCode_ERROR_CODE_OVERLOADED, Message: "write stall"}},
	{"error_reply", &ErrorReply{Code: ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "unknown message type"}},
	{"scan_request", &ScanRequest{Vnode: &VnodeRef{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11}, Table: "cpu",
		Filter: []byte{1, 2}, MinTime: -5, MaxTime: 1_000_000, Fields: []string{"usage", "idle"}, MaxChunkBytes: 1 << 20, CursorId: 9,
		Aggregate: true, Window: 60_000_000_000, Origin: -1, LastOnly: true}},
	{"agg_chunk", &AggChunk{Rows: []*AggRow{{SeriesKey: []byte("k"), Field: "usage", FieldType: 1, Start: 60, Count: 2,
		Fsum: 2, Fmin: 0.5, Fmax: 1.5, Ffirst: 0.5, Flast: 1.5, FirstTime: 61, LastTime: 62}}, CursorId: 4}},
	{"delete_request", &DeleteRequest{Vnode: &VnodeRef{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11},
		Table: "cpu", Filter: []byte{3}, MinTime: -1, MaxTime: 99, Version: 1 << 40}},
	{"meta_join", &MetaJoin{NodeId: 12, RaftAddr: "127.0.0.1:8091", ClusterId: "c1"}},
	{"rename_request", &RenameRequest{Vnode: &VnodeRef{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11},
		Table: "cpu", Filter: []byte{3}, Update: []byte{1, 0}, Version: 1 << 40}},
	{"rename_reply", &RenameReply{Code: ErrorCode_ERROR_CODE_PATH_NOT_VIABLE, Message: "Cannot create field", Series: 2, Renamed: 1, Rows: 10, RenamedRows: 5}},
	{"scan_chunk", &ScanChunk{Columns: []*ScanColumn{{SeriesKey: []byte("k"), Field: "usage", FieldType: 1,
		Times: []int64{1, 2}, Floats: []float64{0.5, 1.5}}}, Done: true}},
	{"flush_request", &FlushRequest{VnodeId: 7, Force: true}},
	{"compact_request", &CompactRequest{VnodeId: 7, Full: true}},
	{"vnode_stats", &VnodeStats{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11, Seq: 100,
		FlushedSeq: 90, Files: 2, DiskBytes: 4096, CacheBytes: 512, ImmutableCaches: 1, Series: 3, Tombstones: 1,
		ExpiredBefore: -1, Writes: 100, Commits: 12}},
	{"ping", &Ping{FromNode: 3, Version: 1 << 40}},
	{"pong", &Pong{NodeId: 2, Version: 1<<40 + 1, StartedUnixMs: 1_764_806_400_000}},
	{"digest_request", &DigestRequest{Vnode: &VnodeRef{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11}, Tables: []string{"cpu"},
		MinTime: -5, MaxTime: 1 << 60, WindowNs: 3600e9, Detail: true, Windows: []int64{0, 3600e9}}},
	{"digest_reply", &DigestReply{Digests: []*WindowDigest{{Table: "cpu", SeriesKey: []byte("k"), Start: 3600e9, Points: 360, Hash: 0xfedcba9876543210}}}},
	{"repair_read_request", &RepairReadRequest{Vnode: &VnodeRef{VnodeId: 7, Tenant: "default", Db: "db1", BucketId: 3, ReplicaSetId: 11}, Table: "cpu",
		SeriesKeys: [][]byte{[]byte("k1"), []byte("k2")}, MinTime: 0, MaxTime: 3600e9 - 1, MaxPoints: 1000}},
	{"repair_read_reply", &RepairReadReply{Batches: []*WriteBatch{{Version: 1 << 40, Batch: []byte{1, 2, 3}}}, More: true, HiddenSeries: [][]byte{[]byte("k2")},
		Tombstones: []*RepairTombstone{{SeriesKey: []byte("k2"), MinTime: 10, MaxTime: 20, Version: 1 << 41}}}},
	{"client_hello", &ClientHello{Tenant: "default", User: "app", Password: "s3cret"}},
	{"client_hello_reply", &ClientHelloReply{Session: []byte{0xaa, 0xbb}, NodeId: 2}},
	{"client_write", &ClientWrite{Session: []byte{0xaa, 0xbb}, Db: "db1", Collection: "cpu", Batch: []byte{1, 2, 3}, Version: 1 << 40,
		Consistency: Consistency_CONSISTENCY_ALL}},
	{"client_write_reply", &ClientWriteReply{Code: ErrorCode_ERROR_CODE_OVERLOADED, Message: "write stall", Points: 7}},
	{"client_scan", &ClientScan{Session: []byte{0xaa}, Db: "db1", Collection: "cpu", MinTime: -5, MaxTime: 1 << 60, Fields: []string{"usage"},
		Tags: map[string]string{"host": "h1"}, CursorId: 3, MaxChunkBytes: 1 << 20}},
	{"client_scan_reply", &ClientScanReply{CursorId: 3, Done: true, Columns: []*ClientColumn{{Tags: map[string]string{"host": "h1"}, Field: "usage",
		FieldType: 1, Times: []int64{1, 2}, Floats: []float64{0.5, 1.5}}}}},
	{"client_scan_aggregate", &ClientScanReply{CursorId: 4, Columns: []*ClientColumn{{Tags: map[string]string{"host": "h1"}, Field: "usage",
		FieldType: 1, Times: []int64{0, 3600e9}, Counts: []int64{360, 12}, Sums: []float64{36, 1.5}, Mins: []float64{-1, 0}, Maxs: []float64{2, 0.5}}}}},
	{"plain_call", &PlainCall{ShardId: 1<<40 + 5, Command: []byte{1, 5, 0, 0, 0, 0}, Query: []byte{1, 5, 0, 0, 0, 0}, Applied: true,
		AddReplica: 9, AddAddr: "127.0.0.1:8091", RemoveReplica: 8}},
	{"plain_call_reply", &PlainCallReply{Code: ErrorCode_ERROR_CODE_NOT_OWNER, Message: "no replica here", Result: []byte{1, 5, 0, 0, 0, 0}, Applied: 77}},
	{"ops_request", &OpsRequest{Tenant: "acme", All: true, KillOp: 42}},
	{"ops_reply", &OpsReply{Code: ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "starting", Ops: [][]byte{{5, 0, 0, 0, 0}}, Killed: true}},
}

func TestGoldenEncoding(t *testing.T) {
	for _, tc := range goldenMessages {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.msg)
			require.NoError(t, err)
			path := filepath.Join("testdata", tc.name+".hex")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(dumpHex(b)), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update once to create %s", path)
			require.Equal(t, string(want), dumpHex(b), "encoding of %s changed", tc.name)

			// the frozen bytes still decode to the same message
			got := tc.msg.ProtoReflect().New().Interface()
			require.NoError(t, proto.Unmarshal(parseHexDump(t, string(want)), got))
			require.True(t, proto.Equal(tc.msg, got), "decoded %v; want %v", got, tc.msg)
		})
	}
}
