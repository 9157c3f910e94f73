// Package smcodec frames the commands and snapshots of the meta state machines and adapts a pure
// state machine to dragonboat's IStateMachine. The formats are described in meta/docs/snapshot.md.
package smcodec
