package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestHelloCommands(t *testing.T) {
	e := newEnv(t)
	admin := e.client.Database("admin")
	for _, name := range []string{"hello", "isMaster", "ismaster"} {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, admin, d(name, 1, "helloOk", true, "client", d("driver", d("name", "x"))))
			primaryKey := "ismaster"
			if name == "hello" {
				primaryKey = "isWritablePrimary"
			}
			require.True(t, r.Lookup(primaryKey).Boolean())
			require.True(t, r.Lookup("helloOk").Boolean())
			require.EqualValues(t, 16777216, r.Lookup("maxBsonObjectSize").Int32())
			require.EqualValues(t, 48000000, r.Lookup("maxMessageSizeBytes").Int32())
			require.EqualValues(t, 100000, r.Lookup("maxWriteBatchSize").Int32())
			require.EqualValues(t, 0, r.Lookup("minWireVersion").Int32())
			require.EqualValues(t, 25, r.Lookup("maxWireVersion").Int32())
			require.EqualValues(t, 30, r.Lookup("logicalSessionTimeoutMinutes").Int32())
			require.Positive(t, r.Lookup("connectionId").Int32())
			require.False(t, r.Lookup("readOnly").Boolean())
			require.Equal(t, bson.TypeDateTime, r.Lookup("localTime").Type)
			_, err := r.LookupErr("topologyVersion")
			require.Error(t, err, "topologyVersion would switch drivers to streaming hello")
			require.EqualValues(t, 1, r.Lookup("ok").Double())
		})
	}
}

func TestAdminCommands(t *testing.T) {
	e := newEnv(t)
	admin := e.client.Database("admin")

	r := mustRun(t, admin, d("buildInfo", 1))
	require.Equal(t, "8.0.0", r.Lookup("version").StringValue())
	require.Equal(t, bson.A{int32(8), int32(0), int32(0), int32(0)}, field(t, r, "versionArray"))
	require.Equal(t, bson.A{}, field(t, r, "modules"))
	_, err := r.LookupErr("ferretdb")
	require.Error(t, err)
	r = mustRun(t, admin, d("buildinfo", 1))
	require.Equal(t, "8.0.0", r.Lookup("version").StringValue())

	r = mustRun(t, admin, d("getParameter", 1, "featureCompatibilityVersion", 1))
	require.Equal(t, "8.0", r.Lookup("featureCompatibilityVersion", "version").StringValue())
	r = mustRun(t, admin, d("getParameter", "*"))
	require.Equal(t, "8.0", r.Lookup("featureCompatibilityVersion", "version").StringValue())
	r = mustRun(t, admin, d("getParameter", 1, "foo", 1))
	require.Equal(t, d("ok", 1.0), toD(t, r))

	r = mustRun(t, admin, d("hostInfo", 1))
	require.NotEmpty(t, r.Lookup("system", "hostname").StringValue())
	r = mustRun(t, admin, d("connectionStatus", 1))
	require.Equal(t, bson.A{}, field(t, r.Lookup("authInfo").Document(), "authenticatedUsers"))
	r = mustRun(t, admin, d("whatsmyuri", 1))
	require.Contains(t, r.Lookup("you").StringValue(), "127.0.0.1:")
	r = mustRun(t, admin, d("getLog", "startupWarnings"))
	require.EqualValues(t, 0, r.Lookup("totalLinesWritten").Int32())
	require.Equal(t, bson.A{}, field(t, r, "log"))
	mustRun(t, admin, d("endSessions", bson.A{}))
	mustRun(t, admin, d("killAllSessions", bson.A{}))
	r = mustRun(t, admin, d("listCommands", 1))
	require.NotEmpty(t, r.Lookup("commands", "find", "help").StringValue())
	_, err = r.LookupErr("commands", "buildinfo")
	require.Error(t, err, "aliases without help are hidden")
	mustRun(t, admin, d("ping", 1, "lsid", d("id", bson.Binary{Subtype: 4, Data: make([]byte, 16)}), "$clusterTime", d("clusterTime", bson.Timestamp{T: 1}), "apiVersion", "1", "comment", "x", "maxTimeMS", 100))

	_, err = run(t, admin, d("atlasVersion", 1))
	requireCode(t, err, 59)
	require.Contains(t, err.Error(), "no such command: 'atlasVersion'")
	_, err = run(t, admin, d("noSuchThing", 1))
	requireCode(t, err, 59)
	require.Contains(t, err.Error(), "no such command: 'noSuchThing'")
}
