package vnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/layout"
)

// RemoveBucket asks the manager to delete this node's data of a bucket the placement dropped (a
// dropped database, an expired bucket): its vnode actors stop, then the bucket's directory is
// removed. Until that is done, writes to the bucket are refused, so nothing re-creates it half
// way. With VnodeID set, only that vnode of replica set ReplicaSetID goes (it moved to another
// node). The reply is an *messages.ErrorReply.
type RemoveBucket struct {
	Tenant, DB string
	BucketID   uint64
	// ReplicaSetID and VnodeID name one vnode to remove (0: the whole bucket).
	ReplicaSetID, VnodeID uint64
}

// bucketRemoved tells the manager a removal finished.
type bucketRemoved struct{ key string }

func bucketKey(tenant, db string, id uint64) string {
	return tenant + "\x00" + db + "\x00" + strconv.FormatUint(id, 10)
}

// key names what r removes: a bucket, or one vnode of it.
func (r *RemoveBucket) key() string {
	k := bucketKey(r.Tenant, r.DB, r.BucketID)
	if r.VnodeID != 0 {
		k += "\x00" + strconv.FormatUint(r.VnodeID, 10)
	}
	return k
}

// removeBucket stops the bucket's vnodes and removes its directory in the background.
func (m *manager) removeBucket(ctx actor.Context, r *RemoveBucket) {
	key := r.key()
	if m.removing[key] {
		m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "bucket removal already running"})
		return
	}
	m.removing[key] = true
	var stops []*actor.Future
	for id, v := range m.vnodes {
		if v.spec.Tenant == r.Tenant && v.spec.DB == r.DB && v.spec.BucketID == r.BucketID && (r.VnodeID == 0 || v.spec.VnodeID == r.VnodeID) {
			delete(m.vnodes, id) // stopped on purpose: not marked broken
			delete(m.broken, id)
			stops = append(stops, ctx.StopFuture(v.pid))
		}
	}
	dir := filepath.Join(m.cfg.Root, layout.DataDir, r.Tenant, r.DB, strconv.FormatUint(r.BucketID, 10))
	what := "removed the data of a dropped bucket"
	if r.VnodeID != 0 {
		dir = layout.VnodeDir(m.cfg.Root, r.Tenant, r.DB, r.BucketID, r.ReplicaSetID, r.VnodeID)
		what = "removed the data of a vnode placed elsewhere now"
	}
	sys, self, sender, log := ctx.ActorSystem(), ctx.Self(), ctx.Sender(), m.log
	go func() {
		reply := &messages.ErrorReply{}
		for _, f := range stops {
			if err := f.Wait(); err != nil {
				reply = &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: fmt.Sprintf("stopping a vnode of %s: %v", dir, err)}
			}
		}
		if reply.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			if err := os.RemoveAll(dir); err != nil {
				reply = &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: fmt.Sprintf("removing %s: %v", dir, err)}
			} else {
				log.WithFields(logrus.Fields{"dir": dir, "vnodes_stopped": len(stops)}).Info(what)
				if r.VnodeID != 0 {
					_ = os.Remove(filepath.Dir(dir)) // the replica set's directory, when empty
				}
			}
		}
		sys.Root.Send(self, &bucketRemoved{key: key})
		if sender != nil {
			sys.Root.Send(sender, reply)
		}
	}()
}

// removingBucket reports whether spec's bucket or vnode is being removed (writes to it are
// refused).
func (m *manager) removingBucket(spec Spec) bool {
	if len(m.removing) == 0 {
		return false
	}
	k := bucketKey(spec.Tenant, spec.DB, spec.BucketID)
	return m.removing[k] || m.removing[k+"\x00"+strconv.FormatUint(spec.VnodeID, 10)]
}
