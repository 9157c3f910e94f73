package main

import (
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// appendLineProtocol appends doc of time-series collection c as one line of line protocol:
// the collection as measurement, the string values of the meta field as tags (a document's keys
// joined with "."), the other fields that line protocol holds (doubles, integers, booleans,
// one-line strings) as fields, the time in ns. It returns how many values it left out; a
// document without any field is left out whole.
func appendLineProtocol(dst []byte, c collInfo, doc bson.Raw) ([]byte, int) {
	start := len(dst)
	skipped := 0
	dst = appendLPEscaped(dst, c.name, ", ")
	if c.metaField != "" {
		if mv, err := doc.LookupErr(c.metaField); err == nil {
			skipped += appendTags(&dst, c.metaField, mv, true)
		}
	}
	elems, _ := doc.Elements()
	first := true
	for _, e := range elems {
		k := e.Key()
		if k == "_id" || k == c.timeField || k == c.metaField {
			continue
		}
		v := e.Value()
		var val string
		switch v.Type {
		case bson.TypeDouble:
			f := v.Double()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				skipped++
				continue
			}
			val = strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(val, ".eE") {
				val += ".0" // stays a float when read back
			}
		case bson.TypeInt32:
			val = strconv.FormatInt(int64(v.Int32()), 10) + "i"
		case bson.TypeInt64:
			val = strconv.FormatInt(v.Int64(), 10) + "i"
		case bson.TypeBoolean:
			val = strconv.FormatBool(v.Boolean())
		case bson.TypeString:
			s := v.StringValue()
			if strings.ContainsAny(s, "\n\r") {
				skipped++
				continue
			}
			val = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		default:
			skipped++
			continue
		}
		if first {
			dst = append(dst, ' ')
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendLPEscaped(dst, k, ",= ")
		dst = append(dst, '=')
		dst = append(dst, val...)
	}
	t, err := doc.LookupErr(c.timeField)
	if first || err != nil || t.Type != bson.TypeDateTime {
		return dst[:start], skipped + 1
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, t.DateTime()*1_000_000, 10)
	return append(dst, '\n'), skipped
}

// appendTags appends ",key=value" for the string values of the meta value v (under key; a
// document's fields as key.field, or, for the meta field itself when it is a document, just
// field); it returns how many values it left out.
func appendTags(dst *[]byte, key string, v bson.RawValue, top bool) int {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		skipped := 0
		elems, _ := v.Document().Elements()
		for _, e := range elems {
			k := key + "." + e.Key()
			if top {
				k = e.Key()
			}
			skipped += appendTags(dst, k, e.Value(), false)
		}
		return skipped
	case bson.TypeString:
		s := v.StringValue()
		if s == "" || strings.ContainsAny(s, "\n\r") {
			return 1
		}
		*dst = append(*dst, ',')
		*dst = appendLPEscaped(*dst, key, ",= ")
		*dst = append(*dst, '=')
		*dst = appendLPEscaped(*dst, s, ",= ")
		return 0
	}
	return 1
}

// appendLPEscaped appends s with a backslash before each byte of special.
func appendLPEscaped(dst []byte, s, special string) []byte {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return dst
}
