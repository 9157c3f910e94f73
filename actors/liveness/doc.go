// Package liveness is a node's view of its peers: a remote Watch of every peer's watcher turns a
// lost connection into "down" at once, and a probe every second brings a peer back "up".
//
// Coordinators route around peers that are down (reads try them last, writes and deletes hint
// them at once instead of waiting for a timeout), and every change is reported to the meta
// placement, which stops placing new vnodes on a down node and shows it to operators. The probes
// carry the nodes' hybrid logical clocks, so clocks move past each other's with no data flowing.
package liveness
