// Package messages defines every message that crosses a node boundary (messages.proto) and the
// versioned Envelope with its own decoder registry, so unknown types never reach protoactor.
package messages
