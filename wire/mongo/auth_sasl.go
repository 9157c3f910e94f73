package mongo

import (
	"context"
	"errors"
	"fmt"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// errAuthFailed is what every failed login gets, whatever the reason (no such user, wrong
// password, bad message): mongod tells a client nothing more.
var errAuthFailed = mongoerr.New(mongoerr.AuthenticationFailed, "Authentication failed.")

// saslState is a connection's login in progress.
type saslState struct {
	conv *scram.ServerConversation
	db   string
	mech string
	name string // the user the client named, once known
}

// authUser is a connection's authenticated user.
type authUser struct {
	db, name string
	tenant   string // whose databases the user sees
	roles    []roleRef
}

// msgSaslStart begins a SCRAM login: {saslStart: 1, mechanism, payload}.
func msgSaslStart(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	mech, _, err := optString(req.doc, "saslStart", "mechanism")
	if err != nil {
		return nil, err
	}
	payload, err := saslPayload(req.doc, "saslStart")
	if err != nil {
		return nil, err
	}
	resp, err := s.saslStart(ctx, req.conn, req.db, mech, payload)
	if err != nil {
		return nil, err
	}
	return saslReply(resp, false), nil
}

// msgSaslContinue carries a SCRAM login on: {saslContinue: 1, conversationId, payload}.
func msgSaslContinue(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	payload, err := saslPayload(req.doc, "saslContinue")
	if err != nil {
		return nil, err
	}
	c := req.conn
	c.mu.Lock()
	st := c.sasl
	c.mu.Unlock()
	if st == nil {
		return nil, mongoerr.New(mongoerr.ProtocolError, "No SASL session state found")
	}
	if st.conv.Done() {
		// The client did not skip the empty exchange: this is its empty last step.
		c.mu.Lock()
		c.sasl = nil
		c.mu.Unlock()
		return saslReply(nil, true), nil
	}
	resp, err := st.conv.Step(string(payload))
	if err != nil || (st.conv.Done() && !st.conv.Valid()) {
		c.mu.Lock()
		c.sasl = nil
		c.mu.Unlock()
		c.log.WithFields(map[string]any{"user": st.name, "db": st.db, "mechanism": st.mech}).Info("authentication failed")
		return nil, errAuthFailed
	}
	user, found, err := s.cfg.Users.GetUser(ctx, userKey(st.db, st.name))
	if err != nil || !found {
		return nil, errAuthFailed
	}
	c.mu.Lock()
	c.user = &authUser{db: st.db, name: st.name, tenant: user.Tenant, roles: parseRoles(user.Roles)}
	skip := true // drivers ask for skipEmptyExchange; without it one empty step follows
	if opt, err := req.doc.LookupErr("options"); err == nil {
		skip, _ = optBool(opt.Document(), "options", "skipEmptyExchange", false)
	}
	if skip {
		c.sasl = nil
	}
	c.mu.Unlock()
	c.log.WithFields(map[string]any{"user": st.name, "db": st.db, "mechanism": st.mech}).Debug("authenticated")
	return saslReply([]byte(resp), skip), nil
}

// saslStart begins a conversation on c (also used by hello's speculativeAuthenticate).
func (s *Server) saslStart(ctx context.Context, c *conn, db, mech string, payload []byte) ([]byte, error) {
	if s.cfg.Users == nil {
		return nil, mongoerr.New(mongoerr.MechanismUnavailable, "Received authentication for mechanism %s which is not enabled", mech)
	}
	var h scram.HashGeneratorFcn
	switch mech {
	case mechSHA256:
		h = scram.SHA256
	case mechSHA1:
		h = scram.SHA1
	default:
		return nil, mongoerr.New(mongoerr.MechanismUnavailable, "Received authentication for mechanism %s which is not enabled", mech)
	}
	st := &saslState{db: db, mech: mech}
	srv, err := h.NewServer(func(name string) (scram.StoredCredentials, error) {
		st.name = name
		u, found, err := s.cfg.Users.GetUser(ctx, userKey(db, name))
		if err != nil {
			return scram.StoredCredentials{}, err
		}
		if !found {
			return scram.StoredCredentials{}, errors.New("no such user")
		}
		return stored(u.Credentials, mech)
	})
	if err != nil {
		return nil, fmt.Errorf("scram server: %w", err)
	}
	st.conv = srv.NewConversation()
	resp, err := st.conv.Step(string(payload))
	if err != nil {
		c.log.WithFields(map[string]any{"user": st.name, "db": db, "mechanism": mech}).Info("authentication failed")
		return nil, errAuthFailed
	}
	c.mu.Lock()
	c.sasl = st
	c.mu.Unlock()
	return []byte(resp), nil
}

func saslPayload(doc bson.Raw, cmd string) ([]byte, error) {
	v, err := doc.LookupErr("payload")
	if err != nil {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field '%s.payload' is missing but a required field", cmd)
	}
	switch v.Type {
	case bson.TypeBinary:
		_, data := v.Binary()
		return data, nil
	case bson.TypeString:
		return []byte(v.StringValue()), nil
	}
	return nil, typeErr(cmd+".payload", v.Type, "binData")
}

func saslReply(payload []byte, done bool) *bsoncore.DocumentBuilder {
	return bsoncore.NewDocumentBuilder().
		AppendInt32("conversationId", 1).
		AppendBoolean("done", done).
		AppendBinary("payload", 0, payload)
}

// speculativeAuth runs hello's speculativeAuthenticate ({saslStart: 1, mechanism, payload, db})
// and returns the document to answer with, or nil when it failed (the driver then logs in anew).
func (s *Server) speculativeAuth(ctx context.Context, c *conn, req *request) []byte {
	v, err := req.doc.LookupErr("speculativeAuthenticate")
	if err != nil || v.Type != bson.TypeEmbeddedDocument {
		return nil
	}
	doc := v.Document()
	mech, _, _ := optString(doc, "speculativeAuthenticate", "mechanism")
	db, _, _ := optString(doc, "speculativeAuthenticate", "db")
	if db == "" {
		db = req.db
	}
	payload, err := saslPayload(doc, "speculativeAuthenticate")
	if err != nil {
		return nil
	}
	resp, err := s.saslStart(ctx, c, db, mech, payload)
	if err != nil {
		return nil
	}
	return saslReply(resp, false).Build()
}
