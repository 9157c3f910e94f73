package node

import (
	"sort"

	"github.com/chronogo/chronogo/actors"
)

// ActorIDs lists the ids of the actors this node's actor system runs now, sorted; a child's id is
// its parent's followed by "/" and its name (vnodes/vnode/3, reader/cursor-9).
func (n *Node) ActorIDs() []string {
	var ids []string
	for _, m := range n.sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		ids = append(ids, m.Keys()...)
	}
	sort.Strings(ids)
	return ids
}

// MailboxDepth is how many messages wait in the mailbox of actor id of this node.
func (n *Node) MailboxDepth(id string) (int, bool) {
	return actors.MailboxDepth(n.sys.Address(), id)
}
