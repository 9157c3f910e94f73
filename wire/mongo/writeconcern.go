package mongo

import (
	"context"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// WriteConcern is the writeConcern of an insert, update or delete: w as a number of replicas
// (W >= 0) or a mode name (Mode: "majority", or one of ChronoGo's consistency levels "any",
// "one", "quorum", "all"). The zero value asks for nothing: the database's default level.
// j and wtimeout are accepted: every acknowledged write is in the fsynced WAL, and a request's
// time is bounded by maxTimeMS and the server's request timeout.
type WriteConcern struct {
	W    int // -1 when w is absent or a mode
	Mode string
	// WTimeout is how long a write waits for its w (0: no limit but the command's).
	WTimeout time.Duration
}

// Set reports whether the command asked for a w.
func (wc WriteConcern) Set() bool { return wc.W >= 0 || wc.Mode != "" }

// writeModes are the w names a write concern may use: MongoDB's majority and the consistency
// levels of ChronoGo's coordinators (ARCHITECTURE §9).
var writeModes = map[string]bool{"majority": true, "any": true, "one": true, "quorum": true, "all": true}

type writeConcernKey struct{}

// WriteConcernOf is the write concern the command running with ctx asked for.
func WriteConcernOf(ctx context.Context) WriteConcern {
	if wc, ok := ctx.Value(writeConcernKey{}).(WriteConcern); ok {
		return wc
	}
	return WriteConcern{W: -1}
}

// withWriteConcern is ctx carrying the command's writeConcern, checked as mongod does.
func withWriteConcern(ctx context.Context, cmd bson.Raw) (context.Context, error) {
	wcDoc, err := optDoc(cmd, string(cmd.Index(0).Key()), "writeConcern")
	if err != nil || wcDoc == nil {
		return ctx, err
	}
	wc := WriteConcern{W: -1}
	if v, ok := lookup(wcDoc, "w"); ok {
		switch {
		case v.Type == bson.TypeString:
			wc.Mode = v.StringValue()
			if !writeModes[wc.Mode] {
				return ctx, mongoerr.New(mongoerr.UnknownReplWriteConcern, "No write concern mode named '%s' found in replica set configuration", wc.Mode)
			}
		case isNumber(v):
			f, _ := v.AsFloat64OK()
			if f < 0 || f > 50 || f != math.Trunc(f) {
				return ctx, mongoerr.New(mongoerr.FailedToParse, "w has to be a non-negative number and not greater than 50; found: %v", f)
			}
			wc.W = int(f)
		default:
			return ctx, mongoerr.New(mongoerr.FailedToParse, "w has to be a number or string; found: %s", typeName(v.Type))
		}
	}
	if v, ok := lookup(wcDoc, "j"); ok && v.Type != bson.TypeBoolean && !isNumber(v) && v.Type != bson.TypeNull {
		return ctx, typeErr("writeConcern.j", v.Type, "[bool, int, long, double, decimal]")
	}
	if v, ok := lookup(wcDoc, "wtimeout"); ok && !isNumber(v) && v.Type != bson.TypeNull {
		return ctx, typeErr("writeConcern.wtimeout", v.Type, numberTypes)
	} else if ok && isNumber(v) {
		if ms, _ := v.AsFloat64OK(); ms > 0 {
			wc.WTimeout = time.Duration(min(ms, float64(math.MaxInt64/int64(time.Millisecond)))) * time.Millisecond
		}
	}
	return context.WithValue(ctx, writeConcernKey{}, wc), nil
}
