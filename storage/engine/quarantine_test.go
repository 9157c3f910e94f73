package engine

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/tsm"
	"github.com/chronogo/chronogo/storage/wal"
)

// damageFirstBlock flips a byte inside the first data block of a TSM file (the index and footer
// stay whole, so the file opens and only reading that block fails).
func damageFirstBlock(t *testing.T, path string) int64 {
	t.Helper()
	r, err := tsm.Open(path)
	require.NoError(t, err)
	off := int64(r.Entries()[0].Blocks[0].Offset) + 3
	require.NoError(t, r.Close())
	flipByte(t, path, off)
	return off
}

func withoutTimes(want map[string]string, lo, hi int) map[string]string {
	out := map[string]string{}
	for k, v := range want {
		var ts int
		_, _ = fmt.Sscanf(k[strings.LastIndexByte(k, '/')+1:], "%d", &ts)
		if ts < lo || ts >= hi {
			out[k] = v
		}
	}
	return out
}

// TestDamagedBlockQuarantinedAtRead is issue #7's "a damaged TSM file is renamed .bad and the rest
// of the vnode stays readable", for damage that only a read finds: the read that meets it fails
// with the file and offset, the file is quarantined (renamed .bad, out of the summary), and later
// reads, also after a reopen, show everything else.
func TestDamagedBlockQuarantinedAtRead(t *testing.T) {
	for _, via := range []string{"scan", "compaction"} {
		t.Run(via, func(t *testing.T) {
			dir := t.TempDir()
			want := recoverFixture(t, dir)
			files := tsmFiles(t, dir)
			require.Len(t, files, 3)
			bad := files[1] // points 100..199
			damageFirstBlock(t, bad)

			logger, hook := test.NewNullLogger()
			v, err := Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Len(t, v.Stats().Files, 3, "the damage is inside a block: the file opens")

			var readErr error
			if via == "scan" {
				s := v.Snapshot()
				readErr = s.Scan(ScanQuery{Table: "m", MinTime: minTime, MaxTime: maxTime}, func(*ScanColumn) error { return nil })
				s.Release()
			} else {
				readErr = v.Compact(t.Context(), true)
			}
			var ce *storage.CorruptionError
			require.True(t, errors.As(readErr, &ce), "%v", readErr)
			require.Equal(t, bad, ce.Path)

			_, err = os.Stat(bad + layout.BadExt)
			require.NoError(t, err, "quarantined file kept as .bad")
			_, err = os.Stat(bad)
			require.True(t, os.IsNotExist(err))
			require.Equal(t, withoutTimes(want, 100, 200), scanAll(t, v, "m"))
			require.Len(t, v.Stats().Files, 2)
			var logged bool
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.ErrorLevel && strings.HasPrefix(e.Message, "tsm file is damaged: quarantined") {
					logged = e.Data["file"] == bad && e.Data["offset"] == ce.Offset
				}
			}
			require.True(t, logged, "error log names the file and offset")
			require.NoError(t, v.Compact(t.Context(), true), "compaction no longer meets the damage")
			require.Equal(t, withoutTimes(want, 100, 200), scanAll(t, v, "m"))
			require.NoError(t, v.Close())

			v, err = Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Equal(t, withoutTimes(want, 100, 200), scanAll(t, v, "m"))
			_, err = os.Stat(bad + layout.BadExt)
			require.NoError(t, err, "a reopen keeps the .bad file")
			require.NoError(t, v.Close())
		})
	}
}
