package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgGetMore returns the next batch of a cursor opened by find, aggregate or a list command.
func msgGetMore(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	idVal := req.doc.Index(0).Value()
	id, ok := asInt64(idVal)
	if !ok || !isNumber(idVal) {
		return nil, typeErr("getMore.getMore", idVal.Type, "long")
	}
	coll, has, err := optString(req.doc, "getMore", "collection")
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'getMore.collection' is missing but a required field")
	}
	batchSize, _, err := optInt64(req.doc, "getMore", "batchSize")
	if err != nil {
		return nil, err
	}
	if batchSize < 0 {
		return nil, badBatchSize(batchSize)
	}
	ns := req.db + "." + coll
	if curNS, ok := s.cursors.peek(meta.TenantOf(ctx), id); ok && curNS != ns {
		return nil, mongoerr.New(mongoerr.Unauthorized,
			"Requested getMore on namespace '%s', but cursor belongs to a different namespace %s", ns, curNS)
	}
	cur, ok := s.cursors.take(id)
	if ok && cur.owner != meta.TenantOf(ctx) { // another tenant's cursor: as if it did not exist
		s.cursors.put(cur)
		ok = false
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.CursorNotFound, "cursor id %d not found", id)
	}
	if cur.ns != ns { // reopened under another namespace between peek and take
		s.cursors.put(cur)
		return nil, mongoerr.New(mongoerr.Unauthorized,
			"Requested getMore on namespace '%s', but cursor belongs to a different namespace %s", ns, cur.ns)
	}
	if cur.stream != nil {
		batch, exhausted, err := cur.stream.next(int(batchSize))
		if err != nil || exhausted {
			cur.close()
			if err != nil {
				return nil, err
			}
			id = 0
		} else {
			s.cursors.put(cur)
		}
		return cursorReply(cur.ns, "nextBatch", id, batch), nil
	}
	batch, rest := splitBatch(cur.docs, int(batchSize))
	if len(rest) > 0 {
		cur.docs = rest
		s.cursors.put(cur)
	} else {
		id = 0
	}
	return cursorReply(cur.ns, "nextBatch", id, batch), nil
}
