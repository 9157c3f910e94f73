// Package meta runs ChronoGo's metadata service on dragonboat multi-Raft (shards catalog, placement
// and locks) and gives the rest of the server a typed, cached Client for it.
package meta
