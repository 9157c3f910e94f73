// Package opsrpc lets currentOp and killOp reach every node: the "ops" actor lists and
// interrupts the MongoDB commands running on its node for other nodes; Ask sends to it.
package opsrpc
