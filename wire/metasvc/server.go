package metasvc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// Paths and content type of the service. Bodies are protobuf messages from package messages:
// MetaHello → MetaHelloReply, MetaJoin → ErrorReply.
const (
	HelloPath   = "/meta/hello"
	JoinPath    = "/meta/join"
	ContentType = "application/x-protobuf"
	maxBody     = 1 << 16
	joinTimeout = 30 * time.Second
)

// Service answers hello and join requests of one meta node. Hello works from the start (a meta
// node must answer it before its own Raft replicas exist, during discovery); join needs the host,
// set with SetHost once it runs.
type Service struct {
	NodeID    uint64
	RaftAddr  string
	ClusterID string
	// RequirePeerCert refuses requests that did not come over TLS with a client certificate the
	// listener verified (mutual TLS between nodes): a process without the cluster's certificate
	// cannot join.
	RequirePeerCert bool
	Log             logrus.FieldLogger
	host            atomic.Pointer[meta.Host]
}

// peerOK answers 403 (and logs it) for a request without a verified client certificate when one
// is required.
func (s *Service) peerOK(rw http.ResponseWriter, r *http.Request) bool {
	if !s.RequirePeerCert || (r.TLS != nil && len(r.TLS.VerifiedChains) > 0) {
		return true
	}
	s.Log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "path": r.URL.Path, "tls": r.TLS != nil}).
		Warn("meta request refused: no client certificate from the cluster's CA (--cluster-tls)")
	writeBody(rw, http.StatusForbidden, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST,
		Message: "this cluster requires mutual TLS: present a certificate signed by its CA"})
	return false
}

// SetHost makes join requests work.
func (s *Service) SetHost(h *meta.Host) { s.host.Store(h) }

// Register adds the service's routes to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+HelloPath, s.hello)
	mux.HandleFunc("POST "+JoinPath, s.join)
}

func (s *Service) hello(rw http.ResponseWriter, r *http.Request) {
	if !s.peerOK(rw, r) {
		return
	}
	var req messages.MetaHello
	if !readBody(rw, r, &req) {
		return
	}
	reply := &messages.MetaHelloReply{NodeId: s.NodeID, RaftAddr: s.RaftAddr, ClusterId: s.ClusterID}
	if req.GetClusterId() != s.ClusterID {
		reply.Code = messages.ErrorCode_ERROR_CODE_BAD_REQUEST
		reply.Message = fmt.Sprintf("cluster id %q; this meta node belongs to %q", req.GetClusterId(), s.ClusterID)
	}
	writeBody(rw, http.StatusOK, reply)
}

func (s *Service) join(rw http.ResponseWriter, r *http.Request) {
	if !s.peerOK(rw, r) {
		return
	}
	var req messages.MetaJoin
	if !readBody(rw, r, &req) {
		return
	}
	fail := func(status int, code messages.ErrorCode, format string, args ...any) {
		writeBody(rw, status, &messages.ErrorReply{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case req.GetClusterId() != s.ClusterID:
		fail(http.StatusConflict, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "cluster id %q; this meta node belongs to %q", req.GetClusterId(), s.ClusterID)
		return
	case req.GetNodeId() == 0 || req.GetRaftAddr() == "":
		fail(http.StatusBadRequest, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "node id and raft address are required")
		return
	case req.GetNodeId() == s.NodeID:
		fail(http.StatusConflict, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "node id %d is this meta node's", s.NodeID)
		return
	}
	h := s.host.Load()
	if h == nil {
		fail(http.StatusServiceUnavailable, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "meta node %d is starting", s.NodeID)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), joinTimeout)
	defer cancel()
	log := s.Log.WithFields(logrus.Fields{"joining_node": req.GetNodeId(), "raft_addr": req.GetRaftAddr()})
	if err := h.AddReplica(ctx, req.GetNodeId(), req.GetRaftAddr(), false); err != nil {
		log.WithError(err).Warn("join failed")
		fail(http.StatusServiceUnavailable, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", err)
		return
	}
	log.Info("node joined the meta shards as a non-voting replica")
	writeBody(rw, http.StatusOK, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_OK})
}

// readBody decodes a protobuf request body, answering 400 itself when it cannot.
func readBody(rw http.ResponseWriter, r *http.Request, m proto.Message) bool {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBody))
	if err == nil {
		err = proto.Unmarshal(body, m)
	}
	if err != nil {
		writeBody(rw, http.StatusBadRequest, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST,
			Message: fmt.Sprintf("bad %s body: %v", proto.MessageName(m), err)})
		return false
	}
	return true
}

func writeBody(rw http.ResponseWriter, status int, m proto.Message) {
	b, _ := proto.Marshal(m)
	rw.Header().Set("Content-Type", ContentType)
	rw.WriteHeader(status)
	_, _ = rw.Write(b)
}
