package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// createIgnored are create options accepted and ignored.
var createIgnored = map[string]bool{
	"collation": true, "storageEngine": true, "indexOptionDefaults": true, "temp": true, "flags": true,
	"autoIndexId": true, "recordPreImages": true, "expireAfterSeconds": true, // expireAfterSeconds is read separately
}

// createRejected are create options that cannot go with a time-series collection.
var createRejected = map[string]bool{
	"capped": true, "size": true, "max": true, "idIndex": true, "validator": true, "validationLevel": true,
	"validationAction": true, "viewOn": true, "pipeline": true, "clusteredIndex": true,
	"encryptedFields": true, "changeStreamPreAndPostImages": true,
}

var createTSFields = map[string]bool{
	"timeField": true, "metaField": true, "granularity": true, "bucketMaxSpanSeconds": true, "bucketRoundingSeconds": true,
}

// msgCreate creates a time-series collection, or a plain one without the timeseries option.
func msgCreate(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, err := req.collectionName()
	if err != nil {
		return nil, err
	}
	c, err := parseCreate(req)
	if err != nil {
		return nil, err
	}
	c.Tenant, c.DB, c.Name, c.CreatedAt = meta.TenantOf(ctx), req.db, name, time.Now().UnixNano()
	if err := s.b.CreateCollection(ctx, c); err != nil {
		return nil, err
	}
	return nil, nil
}

// parseCreate validates a create command: type and unknown-field errors first (in document
// order, like MongoDB's IDL parser), then the option rules. Without timeseries the collection is
// plain (no timeField).
func parseCreate(req *request) (*meta.Collection, error) {
	elems, err := req.doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "create: %v", err)
	}
	var ts *tsOptions
	var rejected []string
	for _, e := range elems[1:] {
		key, v := e.Key(), e.Value()
		switch {
		case key == "timeseries":
			d, ok := v.DocumentOK()
			if !ok {
				return nil, typeErr("create.timeseries", v.Type, "object")
			}
			if ts, err = parseTimeseries(d, createTSFields); err != nil {
				return nil, err
			}
		case key == "expireAfterSeconds":
			if !isNumber(v) {
				return nil, typeErr("create.expireAfterSeconds", v.Type, numberTypes)
			}
		case createRejected[key]:
			if key == "capped" && !v.Boolean() && v.Type == bson.TypeBoolean {
				continue
			}
			rejected = append(rejected, key)
		case createIgnored[key], genericFields[key]:
		default:
			return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field 'create.%s' is an unknown field.", key)
		}
	}
	if ts == nil {
		if len(rejected) > 0 {
			return nil, plainCreateErr(rejected[0])
		}
		if _, ok := lookup(req.doc, "expireAfterSeconds"); ok {
			return nil, plainCreateErr("expireAfterSeconds")
		}
		return &meta.Collection{}, nil
	}
	if len(rejected) > 0 {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "Time-series collections do not support the '%s' option", rejected[0])
	}
	c := &meta.Collection{}
	if err := ts.apply(c); err != nil {
		return nil, err
	}
	if v, ok := lookup(req.doc, "expireAfterSeconds"); ok {
		if c.ExpireAfterSeconds, c.HasTTL, err = parseTTL("create", v, false); err != nil {
			return nil, err
		}
	}
	return c, nil
}
