package index

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func TestPostingsRoundTrip(t *testing.T) {
	f := func(raw []uint64) bool {
		ids := make([]storage.SeriesID, len(raw))
		for i, v := range raw {
			ids[i] = storage.SeriesID(v)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		enc := appendPostings([]byte{0xAA}, ids)
		got, rest, err := decodePostings(nil, append(enc[1:], 0x55))
		return err == nil && bytes.Equal(rest, []byte{0x55}) && slices.Equal(ids, got) && enc[0] == 0xAA
	}
	require.NoError(t, quick.Check(f, nil))

	for name, bad := range map[string][]byte{
		"empty":          {},
		"count too big":  {5, 1, 1},
		"not ascending":  {2, 5, 0},
		"bad entry":      {1, 0x80},
		"overflow delta": append([]byte{2, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 5),
	} {
		_, _, err := decodePostings(nil, bad)
		require.Error(t, err, name)
	}
}

func TestPostingsNormalize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 200; round++ {
		var p postings
		want := map[storage.SeriesID]bool{}
		for i := r.IntN(100); i > 0; i-- {
			id := storage.SeriesID(r.Uint64N(1000) + 1)
			if want[id] {
				continue
			}
			want[id] = true
			p.add(id)
			if r.IntN(10) == 0 {
				p.normalize()
			}
		}
		p.normalize()
		var ids []storage.SeriesID
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		require.Equal(t, len(ids), p.sorted)
		require.Equal(t, ids, append([]storage.SeriesID(nil), p.ids...))
		var del []storage.SeriesID
		var keep []storage.SeriesID
		for _, id := range ids {
			if r.IntN(3) == 0 {
				del = append(del, id)
			} else {
				keep = append(keep, id)
			}
		}
		p.removeSorted(del)
		require.Equal(t, keep, append([]storage.SeriesID(nil), p.ids...))
	}
}

func TestSetOps(t *testing.T) {
	ids := func(v ...uint64) []storage.SeriesID {
		out := []storage.SeriesID{}
		for _, x := range v {
			out = append(out, storage.SeriesID(x))
		}
		return out
	}
	a, b := ids(1, 3, 5, 7, 9), ids(2, 3, 4, 9, 10)
	require.Equal(t, ids(3, 9), intersect(nil, a, b))
	require.Equal(t, ids(1, 5, 7), difference(nil, a, b))
	require.Equal(t, ids(1, 2, 3, 4, 5, 7, 9, 10), mergeUnion(nil, a, b))
	require.Equal(t, ids(3, 9), intersect(slices.Clone(a)[:0], a, b))
}

func logRecordCases(t testing.TB) []logRecord {
	return []logRecord{
		{Type: recAddSeries, IDs: []storage.SeriesID{storage.NewSeriesID(storage.HashSeriesKey(mkKey(t, "cpu")), 1)}, Keys: [][]byte{mkKey(t, "cpu")}},
		{Type: recAddSeries, IDs: []storage.SeriesID{storage.NewSeriesID(1, 2), storage.NewSeriesID(0xFFFFFF, storage.MaxAutoInc)}, Keys: [][]byte{mkKey(t, "a", "k", "v"), mkKey(t, "b", "n", 12, "f", 1.5)}},
		{Type: recDeleteSeries, IDs: []storage.SeriesID{1, 1 << 63, 42}},
		{Type: recDropTable, Table: "weather"},
	}
}

func TestLogRecordRoundTrip(t *testing.T) {
	for _, r := range logRecordCases(t) {
		enc := appendLogRecord(nil, &r)
		var payloads [][]byte
		end, torn, err := scanFrames(enc, 0, func(_ int, p []byte) error { payloads = append(payloads, p); return nil })
		require.NoError(t, err)
		require.False(t, torn)
		require.Equal(t, len(enc), end)
		require.Len(t, payloads, 1)
		got, err := decodeLogRecord(payloads[0])
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
	for name, bad := range map[string][]byte{
		"empty":            {},
		"unknown type":     {9},
		"add no entries":   {recAddSeries},
		"add bad id":       {recAddSeries, 0x80},
		"add key past end": {recAddSeries, 1, 5, 'a'},
		"delete no ids":    {recDeleteSeries},
		"delete bad id":    {recDeleteSeries, 0x80},
		"drop no name":     {recDropTable},
	} {
		_, err := decodeLogRecord(bad)
		require.Error(t, err, name)
	}
	gen, err := decodeLogHeader(appendLogHeader(nil, 77))
	require.NoError(t, err)
	require.Equal(t, uint64(77), gen)
}

func TestScanFramesCorruption(t *testing.T) {
	var data []byte
	for _, r := range logRecordCases(t) {
		data = appendLogRecord(data, &r)
	}
	first := len(appendLogRecord(nil, &logRecordCases(t)[0]))
	bad := slices.Clone(data)
	bad[first+frameHeader] ^= 1 // second record's payload
	_, _, err := scanFrames(bad, 0, func(int, []byte) error { return nil })
	var fe *frameError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, first, fe.Off)

	bad = slices.Clone(data)
	bad[first] = 0xFF // absurd length of a middle record
	bad[first+3] = 0xFF
	_, _, err = scanFrames(bad, 0, func(int, []byte) error { return nil })
	require.True(t, errors.As(err, &fe))
	require.Equal(t, first, fe.Off)
}

// snapshotCases returns encoded snapshots of a few index states.
func snapshotCases(t testing.TB) [][]byte {
	var out [][]byte
	out = append(out, appendSnapshot(nil, newState(), 1))
	s := newState()
	for i, k := range [][]byte{mkKey(t, "cpu", "host", "a", "dc", 3), mkKey(t, "cpu", "host", "b"), mkKey(t, "mem"), mkKey(t, "cpu", "v", 2.5, "ok", true)} {
		sk, err := validateKey(k)
		require.NoError(t, err)
		s.insert(k, storage.NewSeriesID(storage.HashSeriesKey(k), uint64(i+1)), &sk)
	}
	s.normalize()
	out = append(out, appendSnapshot(nil, s, 3))
	return out
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, enc := range snapshotCases(t) {
		s, gen, err := decodeSnapshot(enc)
		require.NoError(t, err)
		s.normalize()
		require.Equal(t, enc, appendSnapshot(nil, s, gen))
		// Every truncation and every single-byte flip fails.
		for i := 0; i < len(enc); i++ {
			_, _, err := decodeSnapshot(enc[:i])
			require.Error(t, err)
			bad := slices.Clone(enc)
			bad[i] ^= 0x04
			_, _, err = decodeSnapshot(bad)
			require.Error(t, err)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	for _, enc := range snapshotCases(f) {
		f.Add(enc)
		f.Add(enc[:len(enc)-4])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = decodeSnapshot(data)
		s, gen, err := decodeSnapshotBody(data)
		if err != nil {
			return
		}
		s.normalize()
		enc := appendSnapshot(nil, s, gen)
		s2, gen2, err := decodeSnapshot(enc)
		require.NoError(t, err)
		s2.normalize()
		require.Equal(t, enc, appendSnapshot(nil, s2, gen2))
	})
}

func FuzzDecodeLogRecord(f *testing.F) {
	for _, r := range logRecordCases(f) {
		enc := appendLogRecord(nil, &r)
		f.Add(enc[frameHeader:])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		_, _, _ = scanFrames(payload, 0, func(int, []byte) error { return nil })
		r, err := decodeLogRecord(payload)
		if err != nil {
			return
		}
		enc := appendLogRecord(nil, &r)
		var got logRecord
		_, torn, err := scanFrames(enc, 0, func(_ int, p []byte) error {
			var derr error
			got, derr = decodeLogRecord(p)
			return derr
		})
		require.NoError(t, err)
		require.False(t, torn)
		require.Equal(t, r, got)
	})
}
