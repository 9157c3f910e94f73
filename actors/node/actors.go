package node

import "sort"

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
