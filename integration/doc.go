// Package integration runs the real chronogo binary as a process on loopback ports and drives it
// with real clients: the official Go driver, mongosh from npm and HTTP line protocol.
package integration
