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
// way. The reply is an *messages.ErrorReply.
type RemoveBucket struct {
	Tenant, DB string
	BucketID   uint64
}

// bucketRemoved tells the manager a removal finished.
type bucketRemoved struct{ key string }

func bucketKey(tenant, db string, id uint64) string {
	return tenant + "\x00" + db + "\x00" + strconv.FormatUint(id, 10)
}

// removeBucket stops the bucket's vnodes and removes its directory in the background.
func (m *manager) removeBucket(ctx actor.Context, r *RemoveBucket) {
	key := bucketKey(r.Tenant, r.DB, r.BucketID)
	if m.removing[key] {
		m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "bucket removal already running"})
		return
	}
	m.removing[key] = true
	var stops []*actor.Future
	for id, v := range m.vnodes {
		if v.spec.Tenant == r.Tenant && v.spec.DB == r.DB && v.spec.BucketID == r.BucketID {
			delete(m.vnodes, id) // stopped on purpose: not marked broken
			delete(m.broken, id)
			stops = append(stops, ctx.StopFuture(v.pid))
		}
	}
	dir := filepath.Join(m.cfg.Root, layout.DataDir, r.Tenant, r.DB, strconv.FormatUint(r.BucketID, 10))
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
				log.WithFields(logrus.Fields{"dir": dir, "vnodes_stopped": len(stops)}).Info("removed the data of a dropped bucket")
			}
		}
		sys.Root.Send(self, &bucketRemoved{key: key})
		if sender != nil {
			sys.Root.Send(sender, reply)
		}
	}()
}

// removingBucket reports whether spec's bucket is being removed (writes to it are refused).
func (m *manager) removingBucket(spec Spec) bool {
	return len(m.removing) > 0 && m.removing[bucketKey(spec.Tenant, spec.DB, spec.BucketID)]
}
