// Package mql evaluates MongoDB's query language on BSON documents: filters, projections, sorts,
// aggregation expressions and pipeline stages, and extracts the part of a filter storage can push down.
package mql
