package actors

import "strconv"

// Names of well-known actors. Vnode actors are children of the manager, so a vnode's PID id is
// VnodePIDID(id) on the node that holds it; that is the only function that builds it.
const (
	// ManagerName is the name of the vnode manager (supervisor of every vnode actor of a node).
	ManagerName = "vnodes"
	// CoordinatorName is the name of the coordinator actor.
	CoordinatorName = "coordinator"
	// ReaderName is the name of the reader actor, which serves other nodes' reads of this node's
	// vnodes (actors/reader).
	ReaderName = "reader"
	// HandoffName is the name of the hinted-handoff manager; its children, one per target node,
	// are handoff/<node id>.
	HandoffName = "handoff"
	// LivenessName is the name of the liveness watcher, which watches and probes the other nodes'
	// watchers (actors/liveness).
	LivenessName = "liveness"
	// GatewayName is the name of the client gateway, which Go SDK clients (actors/client) send
	// their sessions and columnar batches to (actors/gateway).
	GatewayName = "gateway"
	// PlainName is the name of the plain actor, which serves other nodes' calls on this node's
	// replicas of plain shards (actors/plainrpc).
	PlainName = "plain"
	// OpsName is the name of the ops actor, which lists and interrupts the MongoDB commands
	// running on its node for currentOp and killOp on other nodes (actors/opsrpc).
	OpsName = "ops"
)

// VnodeName is the child name of vnode id under the manager.
func VnodeName(id uint64) string { return "vnode/" + strconv.FormatUint(id, 10) }

// VnodePIDID is the full PID id of vnode id on its node.
func VnodePIDID(id uint64) string { return ManagerName + "/" + VnodeName(id) }
