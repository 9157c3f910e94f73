// Package metatest starts meta hosts inside one test process over dragonboat's channel transport:
// a standalone host or a cluster of voting hosts, with stop and restart of a member.
package metatest
