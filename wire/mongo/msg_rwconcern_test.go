package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefaultRWConcern: setDefaultRWConcern on a database sets its default write level (w 0, 1,
// "majority", "all" or a level name), getDefaultRWConcern, listDatabases and dbStats show it;
// the admin database (cluster-wide in MongoDB), other w values and a missing database are
// refused with mongod's codes.
func TestDefaultRWConcern(t *testing.T) {
	e := newEnv(t)
	e.createTS(t, "m")
	for _, c := range []struct {
		w     any
		level string
		wOut  any
	}{{"majority", "quorum", "majority"}, {0, "any", int32(0)}, {1, "one", int32(1)}, {"all", "all", "all"}, {"quorum", "quorum", "majority"}} {
		r := mustRun(t, e.db, d("setDefaultRWConcern", 1, "defaultWriteConcern", d("w", c.w)))
		require.Equal(t, c.wOut, field(t, r.Lookup("defaultWriteConcern").Document(), "w"), "%v", c.w)
		r = mustRun(t, e.db, d("getDefaultRWConcern", 1))
		require.Equal(t, c.wOut, field(t, r.Lookup("defaultWriteConcern").Document(), "w"))
		stats := mustRun(t, e.db, d("dbStats", 1))
		require.Equal(t, c.level, stats.Lookup("consistency").StringValue())
		list := mustRun(t, e.client.Database("admin"), d("listDatabases", 1, "filter", d("name", "testdb")))
		entry := list.Lookup("databases", "0")
		require.Equal(t, c.level, entry.Document().Lookup("consistency").StringValue(), "%s", list)
	}
	_, err := run(t, e.client.Database("admin"), d("setDefaultRWConcern", 1, "defaultWriteConcern", d("w", "majority")))
	requireCode(t, err, 115)
	_, err = run(t, e.db, d("setDefaultRWConcern", 1, "defaultWriteConcern", d("w", 2)))
	requireCode(t, err, 2)
	_, err = run(t, e.db, d("setDefaultRWConcern", 1, "defaultWriteConcern", d("w", "dc1")))
	requireCode(t, err, 79)
	_, err = run(t, e.db, d("setDefaultRWConcern", 1))
	requireCode(t, err, 2)
	_, err = run(t, e.client.Database("nodb"), d("setDefaultRWConcern", 1, "defaultWriteConcern", d("w", 1)))
	requireCode(t, err, 26)
	_, err = run(t, e.db, d("setDefaultRWConcern", 1, "defaultReadConcern", d("level", "snapshot")))
	requireCode(t, err, 2)
}
