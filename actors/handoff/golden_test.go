package handoff

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenHints are the hints of testdata/v1: fixed messages enqueued one second apart.
func goldenHints() []*messages.WriteBatch {
	return []*messages.WriteBatch{
		{VnodeId: 11, Tenant: "acme", Db: "db1", BucketId: 3, ReplicaSetId: 4, Version: 0x0123456789abcdef,
			Batch: []byte("batch one"), Consistency: messages.Consistency_CONSISTENCY_ONE},
		{VnodeId: 12, Tenant: "acme", Db: "db1", BucketId: 3, ReplicaSetId: 5, Version: 0x0123456789abcdf0,
			Batch: []byte{0x09, 0x80, 0x61, 0x62}, Compressed: true, Consistency: messages.Consistency_CONSISTENCY_ANY},
		{VnodeId: 13, Tenant: "t2", Db: "db2", BucketId: 6, ReplicaSetId: 7, Version: 1, Batch: []byte{},
			Consistency: messages.Consistency_CONSISTENCY_QUORUM},
	}
}

var goldenStart = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

// TestGoldenV1 writes the golden queue (three hints, the first one acknowledged) and compares
// every file byte for byte with testdata/v1, then reads testdata/v1 back.
func TestGoldenV1(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueOptions{})
	for i, wb := range goldenHints() {
		require.NoError(t, q.Append(wb, goldenStart.Add(time.Duration(i)*time.Second)))
	}
	require.NoError(t, q.Sync())
	got, err := q.Peek(1, 1<<20, goldenStart)
	require.NoError(t, err)
	require.NoError(t, q.Ack(got))
	require.NoError(t, q.Close())

	golden := filepath.Join("testdata", "v1")
	for _, name := range []string{SegmentName(1), AckFileName} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		if *update {
			require.NoError(t, os.MkdirAll(golden, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(golden, name), raw, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(golden, name+".hex"), []byte(hex.Dump(raw)), 0o644))
		}
		want, err := os.ReadFile(filepath.Join(golden, name))
		require.NoError(t, err)
		require.Equal(t, hex.Dump(want), hex.Dump(raw), "%s changed: the format is frozen (FORMAT.md)", name)
		dump, err := os.ReadFile(filepath.Join(golden, name+".hex"))
		require.NoError(t, err)
		require.Equal(t, string(dump), hex.Dump(want), "%s.hex is the dump of %s", name, name)
	}

	// the golden queue opens with hints 2 and 3, in order, with their enqueue times
	copyDir(t, golden, dir)
	q = openQueue(t, dir, QueueOptions{})
	require.Equal(t, 2, q.Len())
	got, err = q.Peek(10, 1<<20, goldenStart)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, e := range got {
		require.True(t, proto.Equal(goldenHints()[i+1], e.Batch), "hint %d", i+1)
		require.True(t, goldenStart.Add(time.Duration(i+1)*time.Second).Equal(e.EnqueuedAt))
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	require.NoError(t, err)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), raw, 0o644))
	}
}
