// Package smcodec frames the commands and snapshots of the meta state machines and runs a shard's
// pure state as a generic dragonboat IStateMachine. The formats are described in meta/docs/snapshot.md.
package smcodec
