package mongo

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// request is one command as a handler sees it.
type request struct {
	conn *conn
	db   string   // from $db (OP_MSG) or the namespace (OP_QUERY)
	name string   // the command name: the first key
	doc  bson.Raw // the whole command, document sequences merged in
	// docs is an insert's "documents" sequence when it was not merged into doc (see
	// OpMsg.insertDocuments); read it with insertDocs.
	docs []bson.Raw
}

// handlerFunc runs a command and returns its reply without "ok" (dispatch adds ok: 1).
type handlerFunc func(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error)

// dispatch runs cmd and returns the reply document; it never panics.
func (s *Server) dispatch(ctx context.Context, c *conn, db string, cmd bson.Raw) (reply []byte) {
	return s.run(ctx, &request{conn: c, db: db, doc: cmd})
}

// run runs the command of req (conn, doc, and db unless doc has $db); it never panics.
func (s *Server) run(ctx context.Context, req *request) (reply []byte) {
	c, cmd := req.conn, req.doc
	if first, err := cmd.IndexErr(0); err == nil {
		req.name = first.Key()
	}
	log := c.log.WithField("command", req.name)
	defer func() {
		if p := recover(); p != nil {
			log.WithFields(logrus.Fields{"panic": fmt.Sprint(p), "stack": string(debug.Stack())}).Error("command handler panicked")
			reply = errorReply(mongoerr.New(mongoerr.InternalError, "internal error in command %s: %v", req.name, p))
		}
	}()
	if v, err := cmd.LookupErr("$db"); err == nil {
		s, ok := v.StringValueOK()
		if !ok {
			return errorReply(typeErr("OP_MSG.$db", v.Type, "string"))
		}
		req.db = s
	}
	if req.db == "" {
		return errorReply(mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'OP_MSG.$db' is missing but a required field"))
	}
	cmdDef, ok := commands[req.name]
	if !ok || cmdDef.handler == nil {
		return errorReply(mongoerr.New(mongoerr.CommandNotFound, "no such command: '%s'", req.name))
	}
	if err := validDBName(req.db); err != nil {
		return errorReply(err)
	}
	if err := s.authorize(ctx, req); err != nil {
		return errorReply(err)
	}
	if err := checkReadConcern(cmd); err != nil {
		return errorReply(err)
	}
	ctx = meta.WithTenant(ctx, c.tenant())
	ctx, op := s.running.begin(ctx, req)
	start := time.Now()
	b, err := cmdDef.handler(ctx, s, req)
	if s.running.end(op) { // killed: whatever the handler made of its cancelled context
		err = interruptedErr()
	}
	took := time.Since(start)
	commandSeconds.WithLabelValues(req.name).Observe(took.Seconds())
	s.lat.record(req, took)
	outcome := "ok"
	if err != nil {
		outcome = asMongoErr(err).Code.Name()
	}
	commandsTotal.WithLabelValues(req.name, outcome).Inc()
	s.ops.count(req.name)
	if err != nil {
		var me *mongoerr.Error
		if !errors.As(err, &me) {
			log.WithError(err).Error("command failed")
		} else {
			log.WithError(err).Debug("command failed")
		}
		return errorReply(err)
	}
	if b == nil {
		b = bsoncore.NewDocumentBuilder()
	}
	return b.AppendDouble("ok", 1).Build()
}

// errorReply is {ok: 0, errmsg, code, codeName}; errors without a MongoDB code are InternalError.
func errorReply(err error) []byte {
	me := asMongoErr(err)
	b := bsoncore.NewDocumentBuilder().
		AppendDouble("ok", 0).
		AppendString("errmsg", me.Msg).
		AppendInt32("code", int32(me.Code)).
		AppendString("codeName", me.Code.Name())
	if len(me.Labels) > 0 {
		labels := bsoncore.NewArrayBuilder()
		for _, l := range me.Labels {
			labels.AppendString(l)
		}
		b.AppendArray("errorLabels", labels.Build())
	}
	appendExtra(b, me)
	return b.Build()
}

// asMongoErr finds the *mongoerr.Error in err's chain or makes an InternalError of it.
func asMongoErr(err error) *mongoerr.Error {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me
	}
	return &mongoerr.Error{Code: mongoerr.InternalError, Msg: err.Error()}
}
