// Package tsdoc maps MongoDB time-series documents to the storage model and back: the time field
// becomes the row timestamp, leaves of the meta field become typed tags, other fields become columns.
package tsdoc
