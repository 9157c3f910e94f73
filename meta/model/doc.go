// Package model defines the plain data types of the meta service (databases, collections, nodes,
// buckets); package meta re-exports them as aliases.
package model
