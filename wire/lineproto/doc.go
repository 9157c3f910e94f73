// Package lineproto parses InfluxDB v1 line protocol into columnar storage batches, one per
// measurement: a measurement is a time-series collection, its tags the meta field's sub-fields.
package lineproto
