package mongo

import (
	"context"
	"os"
	"runtime"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgHostInfo describes the host the server runs on.
func msgHostInfo(context.Context, *Server, *request) (*bsoncore.DocumentBuilder, error) {
	host, _ := os.Hostname()
	sys := bsoncore.NewDocumentBuilder().
		AppendDateTime("currentTime", time.Now().UnixMilli()).
		AppendString("hostname", host).
		AppendInt32("cpuAddrSize", 64).
		AppendInt32("numCores", int32(runtime.NumCPU())).
		AppendString("cpuArch", runtime.GOARCH).
		AppendBoolean("numaEnabled", false).
		Build()
	osDoc := bsoncore.NewDocumentBuilder().
		AppendString("type", runtime.GOOS).
		AppendString("name", runtime.GOOS).
		AppendString("version", "").
		Build()
	return bsoncore.NewDocumentBuilder().
		AppendDocument("system", sys).
		AppendDocument("os", osDoc).
		AppendDocument("extra", bsoncore.NewDocumentBuilder().Build()), nil
}
