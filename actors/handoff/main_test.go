package handoff

import (
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/recordfile"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, actorstest.ProtoactorGoroutines()...)
}

// testBatch is the i-th hint of a test: vnode 100+i, version 1000+i, i+1 bytes of batch payload.
func testBatch(i int) *messages.WriteBatch {
	b := make([]byte, i+1)
	for j := range b {
		b[j] = byte(i + j)
	}
	return &messages.WriteBatch{VnodeId: uint64(100 + i), Tenant: "t", Db: "db", BucketId: 7, ReplicaSetId: 8,
		Version: uint64(1000 + i), Batch: b, Consistency: messages.Consistency_CONSISTENCY_ONE}
}

// recordSize is the documented size of hint wb's record: frame, version, enqueued_ns, protobuf.
func recordSize(wb *messages.WriteBatch) int64 {
	return recordfile.FrameSize + 1 + 8 + int64(proto.Size(wb))
}
