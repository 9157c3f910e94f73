// Package actors holds what the actor packages share: the hybrid logical clock that versions
// writes, the Placement view of meta they route by, well-known actor names and SendReply.
package actors
