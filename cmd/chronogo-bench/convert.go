package main

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/storage"
)

// kv is a tag or a field of a line; byte slices point into the line.
type kv struct {
	key, val []byte
}

// point is one parsed line-protocol line. Its slices are reused by parseLine.
type point struct {
	measurement []byte
	tags        []kv
	fields      []kv
	timeNS      int64
}

// parseLine parses one line of the plain line protocol cpugen writes: no escapes, no quoted
// strings, a timestamp in nanoseconds. p's slices are reused.
func parseLine(line []byte, p *point) error {
	line = bytes.TrimRight(line, "\r\n")
	if bytes.IndexByte(line, '\\') >= 0 || bytes.IndexByte(line, '"') >= 0 {
		return fmt.Errorf("line with escapes or quoted strings is not supported: %.60q", line)
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 == sp1 {
		return fmt.Errorf("line needs a measurement, fields and a timestamp: %.60q", line)
	}
	ts, err := strconv.ParseInt(string(line[sp2+1:]), 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp in %.60q: %w", line, err)
	}
	p.timeNS = ts
	series := line[:sp1]
	comma := bytes.IndexByte(series, ',')
	p.tags = p.tags[:0]
	if comma < 0 {
		p.measurement = series
	} else {
		p.measurement = series[:comma]
		if p.tags, err = appendPairs(p.tags, series[comma+1:]); err != nil {
			return err
		}
	}
	if p.fields, err = appendPairs(p.fields[:0], line[sp1+1:sp2]); err != nil {
		return err
	}
	if len(p.fields) == 0 {
		return fmt.Errorf("line without fields: %.60q", line)
	}
	return nil
}

func appendPairs(dst []kv, s []byte) ([]kv, error) {
	for len(s) > 0 {
		var pair []byte
		pair, s, _ = bytes.Cut(s, []byte{','})
		k, v, ok := bytes.Cut(pair, []byte{'='})
		if !ok || len(k) == 0 || len(v) == 0 {
			return dst, fmt.Errorf("bad key=value %q", pair)
		}
		dst = append(dst, kv{k, v})
	}
	return dst, nil
}

// appendDocument appends p as the MongoDB document of a time-series collection with timeField
// "time" and metaField "tags": {time: Date, tags: {k: v, ...}, field: int64 or double, ...}.
// Integer fields ("58i") become int64, others double; booleans and strings are not supported.
func appendDocument(dst []byte, p *point) ([]byte, error) {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	dst = bsoncore.AppendDateTimeElement(dst, "time", storage.FloorDiv(p.timeNS, 1e6))
	if len(p.tags) > 0 {
		var tidx int32
		tidx, dst = bsoncore.AppendDocumentElementStart(dst, "tags")
		for _, t := range p.tags {
			dst = bsoncore.AppendStringElement(dst, string(t.key), string(t.val))
		}
		var err error
		if dst, err = bsoncore.AppendDocumentEnd(dst, tidx); err != nil {
			return dst, fmt.Errorf("building tags: %w", err)
		}
	}
	for _, f := range p.fields {
		if n := len(f.val); f.val[n-1] == 'i' {
			v, err := strconv.ParseInt(string(f.val[:n-1]), 10, 64)
			if err != nil {
				return dst, fmt.Errorf("field %s: %w", f.key, err)
			}
			dst = bsoncore.AppendInt64Element(dst, string(f.key), v)
			continue
		}
		v, err := strconv.ParseFloat(string(f.val), 64)
		if err != nil || math.IsNaN(v) {
			return dst, fmt.Errorf("field %s: unsupported value %q", f.key, f.val)
		}
		dst = bsoncore.AppendDoubleElement(dst, string(f.key), v)
	}
	dst, err := bsoncore.AppendDocumentEnd(dst, idx)
	if err != nil {
		return dst, fmt.Errorf("building document: %w", err)
	}
	return dst, nil
}

// fieldInt returns the integer value ("58i") of field name of p.
func (p *point) fieldInt(name string) (int64, bool) {
	for _, f := range p.fields {
		if string(f.key) == name {
			n := len(f.val)
			if n < 2 || f.val[n-1] != 'i' {
				return 0, false
			}
			v, err := strconv.ParseInt(string(f.val[:n-1]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// tag returns the value of tag name of p.
func (p *point) tag(name string) string {
	for _, t := range p.tags {
		if string(t.key) == name {
			return string(t.val)
		}
	}
	return ""
}
