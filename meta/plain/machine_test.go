package plain

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func openMachine(t *testing.T, dir string, limits Limits) *Machine {
	t.Helper()
	m := NewMachine(dir, limits)
	_, err := m.Open(nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// propose applies one command at index idx and returns its result.
func propose(t *testing.T, m *Machine, idx uint64, c Command) Result {
	t.Helper()
	b, err := EncodeCommand(c)
	require.NoError(t, err)
	out, err := m.Update([]sm.Entry{{Index: idx, Cmd: b}})
	require.NoError(t, err)
	r, err := DecodeResult(out[0].Result.Data)
	require.NoError(t, err)
	require.Equal(t, r.Code, out[0].Result.Value)
	return r
}

func doc(t testing.TB, id, v int) bson.Raw {
	b, err := bson.Marshal(bson.D{{Key: "_id", Value: id}, {Key: "v", Value: v}})
	require.NoError(t, err)
	return b
}

func key(id int) []byte { return []byte(fmt.Sprintf("k%05d", id)) }

// modelDoc is the model's view of a stored document.
type modelDoc struct {
	rev uint64
	doc []byte
}

// contents reads a collection whole through pages of the given size.
func contents(t *testing.T, m *Machine, ns NS, page int) map[string]modelDoc {
	t.Helper()
	out := map[string]modelDoc{}
	var after []byte
	for {
		v, err := m.Lookup(ScanQuery{NS: ns, After: after, Limit: page})
		require.NoError(t, err)
		p := v.(ScanPage)
		for _, d := range p.Docs {
			require.True(t, after == nil || bytes.Compare(d.Key, after) > 0, "key order")
			out[string(d.Key)] = modelDoc{d.Rev, d.Doc}
			after = d.Key
		}
		if !p.More {
			return out
		}
	}
}

// TestMachineModel applies random writes to the machine and to a map, and compares them after
// every command, through paged scans, gets and stats; then a snapshot restored elsewhere and a
// reopened store hold the same.
func TestMachineModel(t *testing.T) {
	dir := t.TempDir()
	m := openMachine(t, filepath.Join(dir, "a"), DefaultLimits)
	ns := NS{Tenant: "t", DB: "db", Coll: "c"}
	other := NS{Tenant: "t", DB: "db", Coll: "c2"}
	model := map[string]modelDoc{}
	r := rand.New(rand.NewPCG(1, 2))
	idx := uint64(0)
	for step := range 400 {
		idx++
		var items []Item
		for range 1 + r.IntN(4) {
			id := r.IntN(30)
			it := Item{Mode: []Mode{ModeInsert, ModeReplace, ModeUpsert, ModeDelete}[r.IntN(4)], Key: key(id)}
			if it.Mode != ModeDelete {
				it.Doc = doc(t, id, step)
			}
			if cur, ok := model[string(it.Key)]; ok && r.IntN(3) == 0 {
				it.Rev = cur.rev
				if r.IntN(2) == 0 {
					it.Rev++ // a stale revision
				}
			}
			items = append(items, it)
		}
		ordered := r.IntN(2) == 0
		res := propose(t, m, idx, Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ns, Items: items, Ordered: ordered})
		require.Equal(t, CodeOK, res.Code, res.Message)
		// the model
		failed := false
		for i, it := range items {
			want := StatusOK
			cur, found := model[string(it.Key)]
			switch {
			case failed && ordered:
				want = StatusSkipped
			case it.Mode == ModeInsert && found:
				want = StatusExists
			case (it.Mode == ModeReplace || it.Mode == ModeDelete) && !found:
				want = StatusMissing
			case (it.Mode == ModeReplace || it.Mode == ModeDelete) && it.Rev != 0 && it.Rev != cur.rev:
				want = StatusConflict
			case it.Mode == ModeDelete:
				delete(model, string(it.Key))
			default:
				model[string(it.Key)] = modelDoc{idx, it.Doc}
			}
			require.Equal(t, want, res.Statuses[i], "step %d item %d (%s)", step, i, it.Mode)
			failed = failed || want != StatusOK
		}
		if step%40 == 0 {
			require.Equal(t, model, contents(t, m, ns, 1+r.IntN(7)), "step %d", step)
		}
	}
	require.Equal(t, model, contents(t, m, ns, 5))
	var bytesSum int64
	for _, d := range model {
		bytesSum += int64(len(d.doc))
	}
	st, err := m.Lookup(StatsQuery{NS: ns})
	require.NoError(t, err)
	require.Equal(t, Stats{Count: int64(len(model)), Bytes: bytesSum}, st)
	for k, d := range model {
		v, err := m.Lookup(GetQuery{NS: ns, Key: []byte(k)})
		require.NoError(t, err)
		require.Equal(t, GetResult{Doc: Doc{Key: []byte(k), Rev: d.rev, Doc: d.doc}, Found: true}, v)
	}
	require.Empty(t, contents(t, m, other, 3), "another collection is untouched")

	// snapshot into a fresh machine
	snap, err := m.PrepareSnapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.SaveSnapshot(snap, &buf, nil))
	m2 := openMachine(t, filepath.Join(dir, "b"), DefaultLimits)
	propose(t, m2, 1, Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ns, Items: []Item{{Mode: ModeInsert, Key: []byte("stale"), Doc: doc(t, 1, 1)}}})
	require.NoError(t, m2.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil))
	require.Equal(t, model, contents(t, m2, ns, 4), "the snapshot replaces what was there")
	applied, err := m2.Lookup(AppliedQuery{})
	require.NoError(t, err)
	require.Equal(t, idx, applied)

	// a corrupt snapshot is refused
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)/2] ^= 0x40
	m3 := openMachine(t, filepath.Join(dir, "c"), DefaultLimits)
	require.Error(t, m3.RecoverFromSnapshot(bytes.NewReader(bad), nil))

	// reopen: the applied index and the data are there after Sync
	require.NoError(t, m.Sync())
	require.NoError(t, m.Close())
	m4 := NewMachine(filepath.Join(dir, "a"), DefaultLimits)
	got, err := m4.Open(nil)
	require.NoError(t, err)
	defer m4.Close()
	require.Equal(t, idx, got)
	require.Equal(t, model, contents(t, m4, ns, 9))
	// entries at or below the applied index are not applied again
	out, err := m4.Update([]sm.Entry{{Index: idx, Cmd: mustEncode(t, Command{Op: OpDropCollection, OpID: opBytes(NewOpID()), NS: ns})}})
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, model, contents(t, m4, ns, 9))
}

func opBytes(id OpID) []byte { return id[:] }

func mustEncode(t *testing.T, c Command) []byte {
	b, err := EncodeCommand(c)
	require.NoError(t, err)
	return b
}

// TestRetriedProposal: a proposal applied twice (the meta client proposes at least once) reports
// success both times and writes once.
func TestRetriedProposal(t *testing.T) {
	m := openMachine(t, t.TempDir(), DefaultLimits)
	ns := NS{DB: "db", Coll: "c"}
	c := Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ns, Items: []Item{{Mode: ModeInsert, Key: key(1), Doc: doc(t, 1, 1)}}}
	r1 := propose(t, m, 1, c)
	r2 := propose(t, m, 2, c)
	require.Equal(t, []Status{StatusOK}, r1.Statuses)
	require.Equal(t, []Status{StatusOK}, r2.Statuses)
	require.Equal(t, r1.Revs, r2.Revs)
	c.OpID = opBytes(NewOpID())
	require.Equal(t, []Status{StatusExists}, propose(t, m, 3, c).Statuses, "another op inserting the same key")
	st, _ := m.Lookup(StatsQuery{NS: ns})
	require.Equal(t, int64(1), st.(Stats).Count)
}

// TestLimitsAndDrops: a collection stops at its limits; drops remove a collection or a database
// and report how many documents went.
func TestLimitsAndDrops(t *testing.T) {
	m := openMachine(t, t.TempDir(), Limits{MaxDocs: 3, MaxBytes: 1 << 20})
	a, b, c := NS{DB: "db", Coll: "a"}, NS{DB: "db", Coll: "b"}, NS{DB: "db2", Coll: "a"}
	idx := uint64(0)
	write := func(ns NS, ids ...int) []Status {
		var items []Item
		for _, id := range ids {
			items = append(items, Item{Mode: ModeInsert, Key: key(id), Doc: doc(t, id, 0)})
		}
		idx++
		return propose(t, m, idx, Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ns, Items: items}).Statuses
	}
	require.Equal(t, []Status{StatusOK, StatusOK, StatusOK, StatusFull}, write(a, 1, 2, 3, 4))
	require.Equal(t, []Status{StatusOK, StatusOK}, write(b, 1, 2))
	require.Equal(t, []Status{StatusOK}, write(c, 1))
	idx++
	require.Equal(t, int64(3), propose(t, m, idx, Command{Op: OpDropCollection, OpID: opBytes(NewOpID()), NS: a}).Removed)
	require.Empty(t, contents(t, m, a, 2))
	require.Len(t, contents(t, m, b, 2), 2)
	v, err := m.Lookup(DBStatsQuery{DB: "db"})
	require.NoError(t, err)
	require.Equal(t, map[string]Stats{"b": {Count: 2, Bytes: int64(2 * len(doc(t, 1, 0)))}}, v)
	idx++
	require.Equal(t, int64(2), propose(t, m, idx, Command{Op: OpDropDatabase, OpID: opBytes(NewOpID()), NS: NS{DB: "db"}}).Removed)
	require.Empty(t, contents(t, m, b, 2))
	require.Len(t, contents(t, m, c, 2), 1, "another database is untouched")
	idx++
	require.Equal(t, CodeInvalid, propose(t, m, idx, Command{Op: "bogus", OpID: opBytes(NewOpID())}).Code)
}

// FuzzDecodeCommand: any proposal bytes decode to a valid command or an error, never a panic, and
// a valid command re-encodes to one that decodes the same.
func FuzzDecodeCommand(f *testing.F) {
	b, _ := EncodeCommand(Command{Op: OpWrite, OpID: make([]byte, 16), NS: NS{DB: "d", Coll: "c"}, Items: []Item{{Mode: ModeInsert, Key: []byte("k"), Doc: bson.Raw{5, 0, 0, 0, 0}}}})
	f.Add(b)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		again, err := DecodeCommand(mustEncode(t, c))
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}
