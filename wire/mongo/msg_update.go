package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgUpdate rejects updates of existing measurements: the storage engine cannot rewrite them in
// place yet, so every statement is a write error 72 (non-multi ones with MongoDB's
// non-multi message). Statements on a missing collection match nothing.
func msgUpdate(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, _, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	ordered, err := optBool(req.doc, "update", "ordered", true)
	if err != nil {
		return nil, err
	}
	stmts, ok, err := optArray(req.doc, "update", "updates")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates' is missing but a required field")
	}
	var errs []writeError
	for i, v := range stmts {
		err := updateStmtErr(v)
		if err == nil && c != nil {
			multi, _ := optBool(v.Document(), "update.updates", "multi", false)
			if multi {
				err = metaOnlyErr(c)
			} else {
				err = mongoerr.New(mongoerr.InvalidOptions, "Cannot perform a non-multi update on a time-series collection")
			}
		}
		if err != nil {
			errs = append(errs, writeError{index: i, err: asMongoErr(err)})
			if ordered {
				break
			}
		}
	}
	b := bsoncore.NewDocumentBuilder().AppendInt32("n", 0).AppendInt32("nModified", 0)
	appendWriteErrors(b, errs)
	return b, nil
}

// updateStmtErr checks the shape of one update statement {q, u, multi, upsert}.
func updateStmtErr(v bson.RawValue) error {
	stmt, ok := v.DocumentOK()
	if !ok {
		return typeErr("update.updates", v.Type, "object")
	}
	if _, err := optDoc(stmt, "update.updates", "q"); err != nil {
		return err
	}
	if _, ok := lookup(stmt, "q"); !ok {
		return mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates.q' is missing but a required field")
	}
	if _, ok := lookup(stmt, "u"); !ok {
		return mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'update.updates.u' is missing but a required field")
	}
	if _, err := optBool(stmt, "update.updates", "multi", false); err != nil {
		return err
	}
	return nil
}
