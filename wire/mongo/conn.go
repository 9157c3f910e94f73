package mongo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// errNoMessageMemory: a message waited FrameTimeout for its share of MessageMemory.
var errNoMessageMemory = errors.New("no message memory")

// conn is one client connection, served by one goroutine.
type conn struct {
	srv *Server
	nc  net.Conn
	id  int32
	log logrus.FieldLogger

	mu     sync.Mutex
	active bool // serving a request
	closed bool
	sasl   *saslState // a login in progress
	user   *authUser  // the authenticated user (nil: none)

	lastBody int // the size of the last message body received whole (see readGrowing)
}

// tenant is the tenant the connection acts for: its user's, or the default one.
func (c *conn) tenant() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user != nil && c.user.tenant != "" {
		return c.user.tenant
	}
	return meta.DefaultTenant
}

func (s *Server) newConn(nc net.Conn) *conn {
	id := s.connIDs.Add(1)
	return &conn{
		srv: s,
		nc:  nc,
		id:  id,
		log: s.log.WithFields(logrus.Fields{"conn_id": id, "remote_addr": nc.RemoteAddr().String()}),
	}
}

// serve reads and answers messages until the client leaves, a message cannot be framed, or the
// server shuts down.
func (c *conn) serve() {
	defer c.srv.removeConn(c)
	defer c.forceClose()
	c.log.Debug("connection accepted")
	r := bufio.NewReader(c.nc)
	w := bufio.NewWriter(c.nc)
	for {
		h, body, held, err := c.readMessage(r)
		if err != nil {
			if errors.Is(err, errNoMessageMemory) {
				c.log.WithError(err).Warn("closing connection: the server is receiving too many large messages")
			} else if errors.Is(err, ErrFraming) {
				c.log.WithError(err).Warn("closing connection after a malformed message")
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.WithError(err).Debug("connection read failed")
			}
			return
		}
		if !c.setActive(true) {
			return
		}
		head, out, keep := c.handleMessage(h, body)
		body = nil
		c.srv.inflight.Release(held)
		if head != nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.FrameTimeout))
			_, err := w.Write(head)
			if err == nil {
				_, err = w.Write(out)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				c.log.WithError(err).Debug("connection write failed")
				return
			}
		}
		if !c.setActive(false) || !keep {
			return
		}
	}
}

// readMessage reads the next message: the first header byte may take IdleTimeout, the rest of
// the message FrameTimeout from then on; the body's memory grows as its bytes arrive (readGrowing). Before the
// body is read, its length is taken from the server's budget of message memory (MessageMemory;
// held is what to give back once the message is handled): when the budget is spent the read waits
// for it, and a connection that cannot get it within FrameTimeout is closed.
func (c *conn) readMessage(r *bufio.Reader) (h MsgHeader, body []byte, held int64, err error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	if _, err := r.Peek(1); err != nil {
		return h, nil, 0, err
	}
	deadline := time.Now().Add(c.srv.cfg.FrameTimeout)
	_ = c.nc.SetReadDeadline(deadline)
	if h, err = readHeader(r); err != nil {
		return h, nil, 0, err
	}
	n := int64(h.MessageLength - MsgHeaderLen)
	held = min(n, c.srv.cfg.MessageMemory)
	ctx, cancel := context.WithDeadline(c.srv.baseCtx, deadline)
	err = c.srv.inflight.Acquire(ctx, held)
	cancel()
	if err != nil {
		messageMemoryTimeouts.Inc()
		return h, nil, 0, fmt.Errorf("%w for %d bytes within %s (%d bytes are in use by other messages)",
			errNoMessageMemory, n, c.srv.cfg.FrameTimeout, c.srv.cfg.MessageMemory)
	}
	if body, err = readGrowing(r, int(n), c.lastBody); err != nil {
		c.srv.inflight.Release(held)
		return h, nil, 0, fmt.Errorf("reading %s body of %d bytes: %w", h.OpCode, n, err)
	}
	c.lastBody = len(body)
	return h, body, held, nil
}

// setActive marks the connection busy or idle; it returns false when the connection must stop
// (closed by Shutdown, or going idle while the server shuts down).
func (c *conn) setActive(active bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.active = active
	if !active && c.srv.isClosing() {
		c.closed = true
		_ = c.nc.Close()
		return false
	}
	return true
}

// closeIfIdle closes the connection unless it is serving a request.
func (c *conn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active && !c.closed {
		c.closed = true
		_ = c.nc.Close()
	}
}

func (c *conn) forceClose() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	_ = c.nc.Close()
}

// handleMessage answers one message. It returns the reply as its head and the rest (a nil head for
// no reply: the body is not copied behind the head) and whether the connection can go on.
func (c *conn) handleMessage(h MsgHeader, body []byte) (head, rest []byte, keep bool) {
	switch h.OpCode {
	case OpCodeMsg:
		head, rest = c.handleOpMsg(h, body)
		return head, rest, true
	case OpCodeQuery:
		return c.handleOpQuery(h, body), nil, true
	default:
		c.log.WithField("op_code", h.OpCode.String()).Warn("closing connection after an unsupported opcode")
		return nil, nil, false
	}
}

func (c *conn) handleOpMsg(h MsgHeader, body []byte) (head, reply []byte) {
	m, err := decodeOpMsg(h, body)
	req := &request{conn: c}
	if err == nil {
		var ok bool
		if req.doc, req.docs, ok = m.insertDocuments(); !ok {
			req.doc, err = m.Command()
		}
	}
	if err != nil {
		c.log.WithError(err).Warn("malformed OP_MSG")
		reply = errorReply(err)
	} else {
		reply = c.srv.run(c.srv.baseCtx, req)
		if m.Flags&FlagMoreToCome != 0 {
			return nil, nil
		}
	}
	return appendOpMsgHead(make([]byte, 0, MsgHeaderLen+5), c.srv.reqIDs.Add(1), h.RequestID, 0, len(reply)), reply
}

func (c *conn) handleOpQuery(h MsgHeader, body []byte) []byte {
	var reply []byte
	q, err := decodeOpQuery(body)
	if err == nil {
		reply, err = c.opQueryCommand(q)
	}
	if err != nil {
		c.log.WithError(err).Warn("rejected OP_QUERY")
		reply = errorReply(err)
		return appendOpReply(nil, c.srv.reqIDs.Add(1), h.RequestID, replyQueryFailure, reply)
	}
	return appendOpReply(nil, c.srv.reqIDs.Add(1), h.RequestID, replyAwaitCapable, reply)
}

// opQueryCommand runs a handshake command received as OP_QUERY.
func (c *conn) opQueryCommand(q *OpQuery) ([]byte, error) {
	db, ok := q.commandDB()
	if !ok {
		return nil, mongoerr.New(mongoerr.UnsupportedOpQueryCommand,
			"Unsupported OP_QUERY on namespace %s. The client driver may require an upgrade. "+
				"For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", q.FullCollectionName)
	}
	cmd := q.Query
	// drivers may wrap the command when they add read preferences
	for _, wrapper := range []string{"$query", "query"} {
		if v, err := cmd.LookupErr(wrapper); err == nil && v.Type == bson.TypeEmbeddedDocument {
			if first, err := cmd.IndexErr(0); err == nil && first.Key() == wrapper {
				cmd = v.Document()
			}
		}
	}
	name := ""
	if first, err := cmd.IndexErr(0); err == nil {
		name = first.Key()
	}
	switch strings.ToLower(name) {
	case "ismaster", "hello":
	default:
		return nil, mongoerr.New(mongoerr.UnsupportedOpQueryCommand,
			"Unsupported OP_QUERY command: %s. The client driver may require an upgrade. "+
				"For more details see https://dochub.mongodb.org/core/legacy-opcode-removal", name)
	}
	return c.srv.dispatch(c.srv.baseCtx, c, db, cmd), nil
}
