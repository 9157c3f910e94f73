package catalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

// TestReplaceCollection: the staging collection takes the target's name with its own table and
// options and the target's indexes; the target moves to the retire name with its table; every
// refusal changes nothing.
func TestReplaceCollection(t *testing.T) {
	idx := []model.Index{{Name: "m_1", Key: []byte{5, 0, 0, 0, 0}}}
	seed := func() *State {
		s := New()
		target := coll("db", "cpu")
		target.Indexes = idx
		Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: target, Now: 1})
		staging := coll("db", "cpu$out.1")
		staging.TimeField, staging.HasTTL, staging.ExpireAfterSeconds = "t2", true, 60
		Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: staging, Now: 2})
		Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: &model.Collection{Name: "plain"}, Now: 3})
		return s
	}
	cases := []struct {
		name                string
		target, from, retre string
		code                Code
	}{
		{"missing staging", "cpu", "cpu$out.2", "cpu$old.1", CodeCollectionNotFound},
		{"by itself", "cpu$out.1", "cpu$out.1", "x$old.1", CodeInvalid},
		{"no retire name", "cpu", "cpu$out.1", "", CodeInvalid},
		{"retire name taken", "cpu", "cpu$out.1", "plain", CodeInvalid},
		{"retire as the staging", "cpu", "cpu$out.1", "cpu$out.1", CodeInvalid},
		{"plain target", "plain", "cpu$out.1", "plain$old.1", CodeInvalid},
		{"plain staging", "cpu", "plain", "cpu$old.1", CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seed()
			before, _ := s.Lookup(CollectionsQuery{Tenant: def, DB: "db"})
			r := Apply(s, Command{Op: OpReplaceCollection, Tenant: def, DB: "db", Name: tc.target, From: tc.from, Retire: tc.retre})
			require.Equal(t, tc.code, r.Code, r.Message)
			require.Equal(t, uint64(3), s.Version, "nothing changed")
			after, _ := s.Lookup(CollectionsQuery{Tenant: def, DB: "db"})
			require.Equal(t, before, after)
		})
	}

	s := seed()
	r := Apply(s, Command{Op: OpReplaceCollection, Tenant: def, DB: "db", Name: "cpu", From: "cpu$out.1", Retire: "cpu$old.9", Now: 4})
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.Equal(t, []string{"cpu$old.9"}, r.Dropped)
	d := s.database(def, "db")
	require.NotContains(t, d.Collections, "cpu$out.1")
	got := d.Collections["cpu"]
	require.Equal(t, "cpu", got.Name)
	require.Equal(t, "cpu$out.1", got.TableName(), "the new entry reads the staging's data")
	require.Equal(t, "t2", got.TimeField, "with the staging's options")
	require.True(t, got.HasTTL)
	require.Equal(t, int64(2), got.CreatedAt)
	require.Equal(t, idx, got.Indexes, "and the target's indexes")
	old := d.Collections["cpu$old.9"]
	require.Equal(t, "cpu", old.TableName(), "the retired entry keeps the old data")
	require.Equal(t, "ts", old.TimeField)

	// a collection created under the name whose table the retired entry holds gets a fresh table
	Apply(s, Command{Op: OpDropCollection, Tenant: def, DB: "db", Name: "cpu"})
	r = Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "cpu"), Now: 7})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, "cpu$t.7.0", r.Collection.TableName())
	// once the retired entry is gone, the name's own table is free again
	Apply(s, Command{Op: OpDropCollection, Tenant: def, DB: "db", Name: "cpu$old.9"})
	r = Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "other"), Now: 8})
	require.Equal(t, "other", r.Collection.TableName())

	// a replace into a missing name retires nothing
	s = seed()
	r = Apply(s, Command{Op: OpReplaceCollection, Tenant: def, DB: "db", Name: "fresh", From: "cpu$out.1", Retire: "fresh$old.1"})
	require.Equal(t, CodeOK, r.Code)
	require.Empty(t, r.Dropped)
	require.NotContains(t, s.database(def, "db").Collections, "fresh$old.1")
}
