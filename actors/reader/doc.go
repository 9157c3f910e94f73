// Package reader serves remote reads: a node's reader actor answers ScanRequests from other nodes'
// coordinators with chunks read from one of its vnodes through a per-cursor child actor.
package reader
