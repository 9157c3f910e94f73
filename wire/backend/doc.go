// Package backend implements the MongoDB wire layer's Backend and the HTTP line-protocol writer on
// an actor node (data) and the meta client (catalog and placement) of one tenant.
package backend
