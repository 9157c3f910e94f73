// Package client is ChronoGo's Go client SDK: an actor system of its own that joins a cluster as
// a remote client (never a member) and writes columnar batches to the nodes' client gateways.
//
// A Client discovers the data nodes through any node's HTTP address, opens a session with each
// node it writes to, and sends each batch, as the cluster's own protobuf messages, to a node that
// holds a replica of its series (from the placement it caches), so the write takes no extra hop.
// Every write's answer carries the node's placement version: a cached placement older than one a
// node reported is fetched again (at most once a second) before the next batch is routed, so
// moved replicas are followed without a failed write.
// Every batch carries a version stamped by the client: a retry, on another node if need be,
// sends the same version, so a write retried after a lost answer is idempotent under
// last-write-wins. A Writer batches points (size and linger) and bounds the bytes in flight:
// Add waits when the cluster is slower than the writer.
//
// Scan streams a collection's columns (by time range, tags and fields), or their per-window
// aggregates, through a cursor on one node, chunk by chunk.
package client
