package node

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
)

// VnodeCheckpoint is the checkpoint of one vnode of this node.
type VnodeCheckpoint struct {
	Spec  vnode.Spec
	Dir   string // below the checkpoint root
	Files []engine.CheckpointFile
}

// Checkpoint flushes every vnode of the node, then copies each one that keep accepts (by its
// spec: tenant, database, bucket, vnode) into root, laid out as a data directory (layout.VnodeDir), one vnode at a time:
// a consistent copy of each vnode as it was when its turn came, while writes go on.
func (n *Node) Checkpoint(ctx context.Context, root string, keep func(s vnode.Spec) bool) ([]VnodeCheckpoint, error) {
	done, err := n.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := n.flush(ctx); err != nil {
		return nil, err
	}
	refs, err := n.vnodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []VnodeCheckpoint
	for _, r := range refs {
		s := r.Spec
		if keep != nil && !keep(s) {
			continue
		}
		dir := layout.VnodeDir(root, s.Tenant, s.DB, s.BucketID, s.ReplicaSetID, s.VnodeID)
		res, err := n.sys.Root.RequestFuture(r.PID, &vnode.Checkpoint{Dir: dir}, n.timeout(ctx)).Result()
		if err != nil {
			return out, fmt.Errorf("checkpoint of vnode %d: %w", s.VnodeID, err)
		}
		rep, ok := res.(*vnode.CheckpointReply)
		if !ok {
			return out, fmt.Errorf("checkpoint of vnode %d: %w", s.VnodeID, replyErr(res, nil))
		}
		if rep.Err != nil {
			return out, fmt.Errorf("checkpoint of vnode %d: %w", s.VnodeID, rep.Err)
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return out, err
		}
		out = append(out, VnodeCheckpoint{Spec: s, Dir: rel, Files: rep.Files})
	}
	return out, nil
}
