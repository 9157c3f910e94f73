package mongo

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Time-series bucketing limits and the defaults each granularity implies.
const (
	maxBucketSeconds = 31536000
	maxTTLSeconds    = 1<<31 - 1
)

// granularities in growing order with their bucketMaxSpanSeconds and rounding.
var granularities = []struct {
	name              string
	maxSpan, rounding int64
}{
	{"seconds", 3600, 60},
	{"minutes", 86400, 3600},
	{"hours", 2592000, 86400},
}

// granularityRank is the position of g in granularities, or -1.
func granularityRank(g string) int {
	for i, x := range granularities {
		if x.name == g {
			return i
		}
	}
	return -1
}

// tsOptions is the parsed timeseries sub-document of create or collMod.
type tsOptions struct {
	timeField, metaField    string
	hasTime, hasMeta        bool
	granularity             string
	maxSpan, rounding       int64
	hasMaxSpan, hasRounding bool
}

// parseTimeseries checks types and unknown fields of a timeseries document (the IDL phase);
// allowed lists the field names the command accepts.
func parseTimeseries(doc bson.Raw, allowed map[string]bool) (*tsOptions, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "timeseries: %v", err)
	}
	o := &tsOptions{}
	for _, e := range elems {
		key, v := e.Key(), e.Value()
		if !allowed[key] {
			return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field 'timeseries.%s' is an unknown field.", key)
		}
		path := "timeseries." + key
		switch key {
		case "timeField", "metaField", "granularity":
			s, ok := v.StringValueOK()
			if !ok {
				return nil, typeErr(path, v.Type, "string")
			}
			switch key {
			case "timeField":
				o.timeField, o.hasTime = s, true
			case "metaField":
				o.metaField, o.hasMeta = s, true
			default:
				if granularityRank(s) < 0 {
					return nil, mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field '%s' is not a valid value.", s, path)
				}
				o.granularity = s
			}
		case "bucketMaxSpanSeconds", "bucketRoundingSeconds":
			n, ok := asInt64(v)
			if !ok || !isNumber(v) {
				return nil, typeErr(path, v.Type, numberTypes)
			}
			if n < 1 {
				return nil, mongoerr.New(mongoerr.BadValue, "BSON field '%s' value must be >= 1, actual value '%d'", path, n)
			}
			if n > maxBucketSeconds {
				return nil, mongoerr.New(mongoerr.BadValue, "BSON field '%s' value must be <= %d, actual value '%d'", path, maxBucketSeconds, n)
			}
			if key == "bucketMaxSpanSeconds" {
				o.maxSpan, o.hasMaxSpan = n, true
			} else {
				o.rounding, o.hasRounding = n, true
			}
		}
	}
	return o, nil
}

// checkFieldName validates a timeField or metaField name.
func checkFieldName(kind, name string) error {
	switch {
	case strings.ContainsRune(name, 0):
		return mongoerr.New(mongoerr.BadValue, "The '%s' may not contain a NUL byte", kind)
	case name == "":
		return mongoerr.New(mongoerr.InvalidOptions, "The '%s' may not be empty", kind)
	case strings.Contains(name, "."):
		return mongoerr.New(mongoerr.InvalidOptions, "The '%s' must be a top-level field and may not contain a '.': '%s'", kind, name)
	case strings.HasPrefix(name, "$"):
		return mongoerr.New(mongoerr.InvalidOptions, "The '%s' may not start with '$': '%s'", kind, name)
	}
	return nil
}

// apply validates the options of a new collection and fills c's time-series fields.
func (o *tsOptions) apply(c *meta.Collection) error {
	if !o.hasTime {
		return mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'timeseries.timeField' is missing but a required field")
	}
	if err := checkFieldName("timeField", o.timeField); err != nil {
		return err
	}
	if o.hasMeta {
		if err := checkFieldName("metaField", o.metaField); err != nil {
			return err
		}
		if o.metaField == o.timeField {
			return mongoerr.New(mongoerr.InvalidOptions, "The 'metaField' may not be the same as the 'timeField': '%s'", o.metaField)
		}
		if o.metaField == "_id" {
			return mongoerr.New(mongoerr.InvalidOptions, "The 'metaField' may not be '_id'")
		}
	}
	c.TimeField, c.MetaField = o.timeField, o.metaField
	return o.applyBucketing(c)
}

// applyBucketing checks granularity versus custom bucketing and fills c.
func (o *tsOptions) applyBucketing(c *meta.Collection) error {
	if o.granularity != "" {
		g := granularities[granularityRank(o.granularity)]
		if o.hasRounding {
			return mongoerr.New(mongoerr.InvalidOptions, "Timeseries 'bucketRoundingSeconds' is not allowed with 'granularity'")
		}
		if o.hasMaxSpan && o.maxSpan != g.maxSpan {
			return mongoerr.New(mongoerr.InvalidOptions,
				"Timeseries 'bucketMaxSpanSeconds' is not configurable to a value other than the default of %d for the provided granularity", g.maxSpan)
		}
		c.Granularity, c.BucketMaxSpanSeconds, c.BucketRoundingSeconds = g.name, g.maxSpan, 0
		return nil
	}
	if o.hasMaxSpan != o.hasRounding {
		return mongoerr.New(mongoerr.InvalidOptions,
			"Timeseries 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' need to be set alongside each other")
	}
	if !o.hasMaxSpan {
		g := granularities[0]
		c.Granularity, c.BucketMaxSpanSeconds, c.BucketRoundingSeconds = g.name, g.maxSpan, 0
		return nil
	}
	if o.maxSpan != o.rounding {
		return mongoerr.New(mongoerr.InvalidOptions, "Timeseries 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' must be equal")
	}
	c.Granularity, c.BucketMaxSpanSeconds, c.BucketRoundingSeconds = "", o.maxSpan, o.rounding
	return nil
}

// parseTTL reads expireAfterSeconds of create or collMod (number; collMod also "off").
func parseTTL(cmd string, v bson.RawValue, allowOff bool) (int64, bool, error) {
	if s, ok := v.StringValueOK(); ok && allowOff {
		if s == "off" {
			return 0, false, nil
		}
		return 0, false, mongoerr.New(mongoerr.InvalidOptions, "Invalid value for 'expireAfterSeconds': '%s'; expected a number or \"off\"", s)
	}
	n, ok := asInt64(v)
	if !ok || !isNumber(v) {
		return 0, false, typeErr(cmd+".expireAfterSeconds", v.Type, numberTypes)
	}
	if n < 0 {
		return 0, false, mongoerr.New(mongoerr.InvalidOptions, "Invalid value for 'expireAfterSeconds': %d; it must be non-negative", n)
	}
	if n > maxTTLSeconds {
		return 0, false, mongoerr.New(mongoerr.InvalidOptions, "Invalid value for 'expireAfterSeconds': %d; it must be at most %d", n, int64(maxTTLSeconds))
	}
	return n, true, nil
}
