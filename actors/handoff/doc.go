// Package handoff holds hinted handoff: durable per-node queues of writes a replica missed
// (queue.go, format in FORMAT.md) and the actors that fill and replay them (manager.go, target.go).
package handoff
