package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// ChronoGo keeps a default write level per database (ARCHITECTURE §9), set and read with MongoDB's
// setDefaultRWConcern and getDefaultRWConcern run on that database: w 0 is any, 1 is one,
// "majority" is quorum, "all" is all (and the level names themselves).

// levelOfW maps a defaultWriteConcern w to a level.
func levelOfW(v bson.RawValue) (string, error) {
	if s, ok := v.StringValueOK(); ok {
		switch s {
		case "majority", "quorum":
			return "quorum", nil
		case "all", "any", "one":
			return s, nil
		}
		return "", mongoerr.New(mongoerr.UnknownReplWriteConcern, "No write concern mode named '%s' found in replica set configuration", s)
	}
	if n, ok := asInt64(v); ok && isNumber(v) {
		switch n {
		case 0:
			return "any", nil
		case 1:
			return "one", nil
		}
		return "", mongoerr.New(mongoerr.BadValue, "a database's default w must be 0, 1, \"majority\" or \"all\" in ChronoGo, not %d", n)
	}
	return "", typeErr("setDefaultRWConcern.defaultWriteConcern.w", v.Type, "[int, string]")
}

// wOfLevel is the w a level stands for.
func wOfLevel(level string) bsoncore.Value {
	switch level {
	case "any":
		return bsoncore.Value{Type: bsoncore.TypeInt32, Data: bsoncore.AppendInt32(nil, 0)}
	case "one":
		return bsoncore.Value{Type: bsoncore.TypeInt32, Data: bsoncore.AppendInt32(nil, 1)}
	case "quorum":
		return bsoncore.Value{Type: bsoncore.TypeString, Data: bsoncore.AppendString(nil, "majority")}
	}
	return bsoncore.Value{Type: bsoncore.TypeString, Data: bsoncore.AppendString(nil, level)}
}

// msgSetDefaultRWConcern sets the database's default write level.
func msgSetDefaultRWConcern(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if req.db == "admin" {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "ChronoGo's default write concerns are per database: run setDefaultRWConcern on the database")
	}
	wcDoc, err := optDoc(req.doc, "setDefaultRWConcern", "defaultWriteConcern")
	if err != nil {
		return nil, err
	}
	rcDoc, err := optDoc(req.doc, "setDefaultRWConcern", "defaultReadConcern")
	if err != nil {
		return nil, err
	}
	if wcDoc == nil && rcDoc == nil {
		return nil, mongoerr.New(mongoerr.BadValue, "At least one of the \"defaultReadConcern\" or \"defaultWriteConcern\" fields must be present")
	}
	if rcDoc != nil {
		if lv, ok := lookup(rcDoc, "level"); ok {
			if l, _ := lv.StringValueOK(); l != "local" && l != "majority" && l != "available" {
				return nil, mongoerr.New(mongoerr.BadValue, "ChronoGo reads at level local (majority and available are accepted as local); found %s", lv.String())
			}
		}
	}
	if wcDoc != nil {
		w, ok := lookup(wcDoc, "w")
		if !ok {
			return nil, mongoerr.New(mongoerr.BadValue, "The default write concern must have a w value")
		}
		level, err := levelOfW(w)
		if err != nil {
			return nil, err
		}
		if err := s.b.SetDatabaseConsistency(ctx, req.db, level); err != nil {
			return nil, err
		}
	}
	return s.defaultRWConcern(ctx, req.db)
}

// msgGetDefaultRWConcern reads the database's default write level.
func msgGetDefaultRWConcern(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	return s.defaultRWConcern(ctx, req.db)
}

// defaultRWConcern is the answer of both commands for database db.
func (s *Server) defaultRWConcern(ctx context.Context, db string) (*bsoncore.DocumentBuilder, error) {
	st, err := s.b.DBStorage(ctx, db)
	if err != nil {
		return nil, err
	}
	b := bsoncore.NewDocumentBuilder()
	if st.Consistency != "" {
		b.AppendDocument("defaultWriteConcern", bsoncore.NewDocumentBuilder().AppendValue("w", wOfLevel(st.Consistency)).AppendInt32("wtimeout", 0).Build())
		b.AppendString("defaultWriteConcernSource", "global")
	} else {
		b.AppendString("defaultWriteConcernSource", "implicit")
	}
	return b.AppendDocument("defaultReadConcern", bsoncore.NewDocumentBuilder().AppendString("level", "local").Build()).
		AppendString("defaultReadConcernSource", "implicit"), nil
}
