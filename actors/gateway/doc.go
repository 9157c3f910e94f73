// Package gateway is the client gateway actor of a node: Go SDK clients (actors/client) open a
// session with it and send columnar batches, which it writes through the node's coordinator.
package gateway
