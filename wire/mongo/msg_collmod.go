package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// collModTSFields are the timeseries options collMod may change; timeField and metaField are
// immutable and therefore unknown fields (40415), as in MongoDB.
var collModTSFields = map[string]bool{"granularity": true, "bucketMaxSpanSeconds": true, "bucketRoundingSeconds": true}

// collModRejected cannot apply to time-series collections.
var collModRejected = map[string]bool{
	"validator": true, "validationLevel": true, "validationAction": true, "viewOn": true, "pipeline": true,
	"changeStreamPreAndPostImages": true, "cappedSize": true, "cappedMax": true, "index": true,
}

// msgCollMod changes expireAfterSeconds (a number or "off") and grows the bucketing.
func msgCollMod(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	elems, err := req.doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "collMod: %v", err)
	}
	var ts *tsOptions
	for _, e := range elems[1:] {
		key, v := e.Key(), e.Value()
		switch {
		case key == "timeseries":
			d, ok := v.DocumentOK()
			if !ok {
				return nil, typeErr("collMod.timeseries", v.Type, "object")
			}
			if ts, err = parseTimeseries(d, collModTSFields); err != nil {
				return nil, err
			}
		case key == "expireAfterSeconds":
			if _, ok := v.StringValueOK(); !ok && !isNumber(v) {
				return nil, typeErr("collMod.expireAfterSeconds", v.Type, "[string, long, int, decimal, double]")
			}
		case collModRejected[key]:
			return nil, mongoerr.New(mongoerr.InvalidOptions, "option '%s' is not supported on a time-series collection", key)
		case genericFields[key], key == "dryRun":
		default:
			return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field 'collMod.%s' is an unknown field.", key)
		}
	}
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", req.db, name)
	}
	upd := *c
	if v, ok := lookup(req.doc, "expireAfterSeconds"); ok {
		if upd.ExpireAfterSeconds, upd.HasTTL, err = parseTTL("collMod", v, true); err != nil {
			return nil, err
		}
	}
	if ts != nil {
		if err := ts.grow(&upd); err != nil {
			return nil, err
		}
	}
	if err := s.b.UpdateCollection(ctx, &upd); err != nil {
		return nil, err
	}
	return nil, nil
}

// grow applies collMod's bucketing change: granularity may only grow (seconds → minutes → hours)
// and custom bucketing values may only grow.
func (o *tsOptions) grow(c *meta.Collection) error {
	if o.granularity == "" && !o.hasMaxSpan && !o.hasRounding {
		return nil
	}
	var next meta.Collection
	if err := o.applyBucketing(&next); err != nil {
		return err
	}
	if next.Granularity != "" && c.Granularity != "" {
		if granularityRank(next.Granularity) < granularityRank(c.Granularity) {
			return mongoerr.New(mongoerr.InvalidOptions,
				"Invalid transition for timeseries.granularity. Can only transition from 'seconds' to 'minutes' or 'minutes' to 'hours'.")
		}
	} else {
		oldRounding := c.BucketRoundingSeconds
		if c.Granularity != "" {
			oldRounding = granularities[granularityRank(c.Granularity)].rounding
		}
		newRounding := next.BucketRoundingSeconds
		if next.Granularity != "" {
			newRounding = granularities[granularityRank(next.Granularity)].rounding
		}
		if next.BucketMaxSpanSeconds < c.BucketMaxSpanSeconds || newRounding < oldRounding {
			return mongoerr.New(mongoerr.InvalidOptions,
				"Invalid transition for timeseries bucketing: 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' may only grow")
		}
	}
	c.Granularity, c.BucketMaxSpanSeconds, c.BucketRoundingSeconds = next.Granularity, next.BucketMaxSpanSeconds, next.BucketRoundingSeconds
	return nil
}
