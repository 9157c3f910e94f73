package meta

import (
	"github.com/lni/dragonboat/v4/config"
	chantrans "github.com/lni/dragonboat/v4/plugin/chan"
	"github.com/lni/dragonboat/v4/raftio"
)

// chanTransportFactory builds dragonboat's in-process channel transport (Config.InProcessTransport).
// plugin/chan's own factory panics in Validate, so this one accepts any non-empty address.
type chanTransportFactory struct{}

// Create returns a channel transport; RaftAddr is only a key in a process-wide map.
func (chanTransportFactory) Create(c config.NodeHostConfig, h raftio.MessageHandler,
	ch raftio.ChunkHandler) raftio.ITransport {
	return chantrans.NewChanTransport(c, h, ch)
}

// Validate accepts any non-empty address.
func (chanTransportFactory) Validate(addr string) bool { return addr != "" }
