package mongo

import (
	"context"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// opCounters are serverStatus.opcounters, as mongod counts them: inserted documents, update and
// delete statements, finds (query), getMores, and every other command.
type opCounters struct {
	insert, query, update, delete, getmore, command atomic.Int64
}

// count adds a command that dispatch ran (insert, update and delete count their documents and
// statements themselves).
func (o *opCounters) count(name string) {
	switch name {
	case "find":
		o.query.Add(1)
	case "getMore":
		o.getmore.Add(1)
	case "insert", "update", "delete":
	default:
		o.command.Add(1)
	}
}

// msgServerStatus answers serverStatus with the sections monitoring tools read: host, version,
// process, uptime, connections, opcounters, mem, and ChronoGo's own section.
func msgServerStatus(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	host, _ := os.Hostname()
	up := time.Since(s.started)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mu.Lock()
	current := len(s.conns)
	s.mu.Unlock()
	b := bsoncore.NewDocumentBuilder().
		AppendString("host", host).
		AppendString("version", mongoVersion).
		AppendString("process", "mongos"). // each node routes for the cluster (see msgHello)
		AppendInt64("pid", int64(os.Getpid())).
		AppendDouble("uptime", float64(int64(up.Seconds()))).
		AppendInt64("uptimeMillis", up.Milliseconds()).
		AppendInt64("uptimeEstimate", int64(up.Seconds())).
		AppendDateTime("localTime", time.Now().UnixMilli()).
		AppendDocument("connections", bsoncore.NewDocumentBuilder().
			AppendInt32("current", int32(current)).
			AppendInt32("available", int32(max(s.cfg.MaxConnections-current, 0))).
			AppendInt32("totalCreated", int32(s.connsTotal.Load())).
			Build()).
		AppendDocument("opcounters", bsoncore.NewDocumentBuilder().
			AppendInt64("insert", s.ops.insert.Load()).
			AppendInt64("query", s.ops.query.Load()).
			AppendInt64("update", s.ops.update.Load()).
			AppendInt64("delete", s.ops.delete.Load()).
			AppendInt64("getmore", s.ops.getmore.Load()).
			AppendInt64("command", s.ops.command.Load()).
			Build()).
		AppendDocument("opLatencies", s.lat.global.doc()).
		AppendDocument("mem", bsoncore.NewDocumentBuilder().
			AppendInt32("bits", 64).
			AppendInt32("resident", int32(ms.Sys>>20)).
			AppendInt32("virtual", int32(ms.Sys>>20)).
			AppendBoolean("supported", true).
			Build())
	if s.cfg.Status != nil {
		if section := s.cfg.Status(ctx); len(section) > 0 {
			b.AppendDocument("chronogo", section)
		}
	}
	return b, nil
}

// msgGetCmdLineOpts answers getCmdLineOpts: the process's arguments and effective settings.
func msgGetCmdLineOpts(_ context.Context, s *Server, _ *request) (*bsoncore.DocumentBuilder, error) {
	argv := bsoncore.NewArrayBuilder()
	for _, a := range s.cfg.CmdLine.Argv {
		argv.AppendString(a)
	}
	parsed := bsoncore.Document(s.cfg.CmdLine.Parsed)
	if len(parsed) == 0 {
		parsed = bsoncore.NewDocumentBuilder().Build()
	}
	return bsoncore.NewDocumentBuilder().AppendArray("argv", argv.Build()).AppendDocument("parsed", parsed), nil
}
