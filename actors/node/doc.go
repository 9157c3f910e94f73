// Package node starts one node's actor system (optionally with protoactor remote), its vnode
// manager and coordinator, and exposes them as a Go API with timeouts and a graceful Stop.
package node
