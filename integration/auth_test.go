package integration

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// connectAs connects with SCRAM credentials (mechanism "" lets the driver choose).
func connectAs(t *testing.T, srv *setup.Server, user, pwd, mech string) *mongo.Client {
	t.Helper()
	cred := options.Credential{Username: user, Password: pwd, AuthSource: "admin", AuthMechanism: mech}
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetAuth(cred).SetServerSelectionTimeout(5 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// TestAuthSCRAMAndRoles is issue #8's first slice with the real Go driver and mongosh: under
// --auth, nothing but the handshake works without a login (13); the localhost exception creates
// the first user once; SCRAM-SHA-256 (also speculative, as drivers log in first) and SCRAM-SHA-1
// log in; a wrong password gets 18; roles decide what runs; the password is in no log line.
func TestAuthSCRAMAndRoles(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--auth")
	anon := srv.Client()
	require.NoError(t, anon.Ping(ctx, nil), "the handshake and ping need no login")
	_, err := anon.ListDatabaseNames(ctx, bson.D{})
	requireCode(t, err, 13)
	_, err = anon.Database("m").Collection("c").InsertOne(ctx, bson.D{{Key: "t", Value: time.Now()}})
	requireCode(t, err, 13)

	// The localhost exception: the first user, then it closes.
	const rootPwd, appPwd = "r00t-Secret!", "app-Secret-42"
	require.NoError(t, anon.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "root"},
		{Key: "pwd", Value: rootPwd}, {Key: "roles", Value: bson.A{"root"}}}).Err())
	err = anon.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "sneaky"},
		{Key: "pwd", Value: "x"}, {Key: "roles", Value: bson.A{"root"}}}).Err()
	requireCode(t, err, 13)

	for _, mech := range []string{"", "SCRAM-SHA-256", "SCRAM-SHA-1"} {
		root := connectAs(t, srv, "root", rootPwd, mech)
		st, err := root.Database("admin").RunCommand(ctx, bson.D{{Key: "connectionStatus", Value: 1}}).Raw()
		require.NoError(t, err, "mechanism %q", mech)
		users, err := st.Lookup("authInfo", "authenticatedUsers").Array().Values()
		require.NoError(t, err)
		require.Len(t, users, 1, "mechanism %q", mech)
		require.Equal(t, "root", users[0].Document().Lookup("user").StringValue())
	}
	root := connectAs(t, srv, "root", rootPwd, "")
	err = root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "root"},
		{Key: "pwd", Value: "y"}, {Key: "roles", Value: bson.A{"root"}}}).Err()
	requireCode(t, err, 51003)
	err = root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "x"},
		{Key: "pwd", Value: "y"}, {Key: "roles", Value: bson.A{"nosuchrole"}}}).Err()
	requireCode(t, err, 31)
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "app"},
		{Key: "pwd", Value: appPwd}, {Key: "roles", Value: bson.A{bson.D{{Key: "role", Value: "readWrite"}, {Key: "db", Value: "metrics"}},
			bson.D{{Key: "role", Value: "read"}, {Key: "db", Value: "other"}}}}}).Err())
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "reader"},
		{Key: "pwd", Value: "reader-pw"}, {Key: "roles", Value: bson.A{"readAnyDatabase"}}}).Err())

	// A wrong password, an unknown user.
	bad := connectAs(t, srv, "app", "wrong", "")
	requireAuthFailed(t, bad.Ping(ctx, nil))
	ghost := connectAs(t, srv, "ghost", "x", "SCRAM-SHA-1")
	requireAuthFailed(t, ghost.Ping(ctx, nil))

	// Roles: readWrite on metrics, read on other, nothing elsewhere.
	app := connectAs(t, srv, "app", appPwd, "")
	coll := createTS(t, app.Database("metrics"), "cpu")
	_, err = coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "h1"}, {Key: "v", Value: 1}})
	require.NoError(t, err)
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, root.Database("other").CreateCollection(ctx, "x", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts"))))
	_, err = app.Database("other").Collection("x").CountDocuments(ctx, bson.D{})
	require.NoError(t, err, "read on other")
	_, err = app.Database("other").Collection("x").InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}})
	requireCode(t, err, 13)
	requireCode(t, app.Database("metrics").Drop(ctx), 13) // dropDatabase needs dbAdmin
	err = app.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "z"}, {Key: "pwd", Value: "z"}, {Key: "roles", Value: bson.A{}}}).Err()
	requireCode(t, err, 13)
	reader := connectAs(t, srv, "reader", "reader-pw", "SCRAM-SHA-256")
	n, err = reader.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = reader.Database("metrics").Collection("cpu").InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "h"}})
	requireCode(t, err, 13)

	// /write takes the same users: u/p, Basic auth or a Token header; roles decide the database.
	write := func(query string, header map[string]string) int {
		req, err := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr+"/write?"+query, strings.NewReader("lpcpu,host=h2 v=1 1700000000000000000"))
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+appPwd))
	require.Equal(t, http.StatusUnauthorized, write("db=metrics", nil))
	require.Equal(t, http.StatusUnauthorized, write("db=metrics&u=app&p=wrong", nil))
	require.Equal(t, http.StatusNoContent, write("db=metrics&u=app&p="+url.QueryEscape(appPwd), nil))
	require.Equal(t, http.StatusNoContent, write("db=metrics", map[string]string{"Authorization": basic}))
	require.Equal(t, http.StatusNoContent, write("db=metrics", map[string]string{"Authorization": "Token app:" + appPwd}))
	require.Equal(t, http.StatusForbidden, write("db=other", map[string]string{"Authorization": basic}), "app may only read other")
	n, err = app.Database("metrics").Collection("lpcpu").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "three writes of one point")

	// usersInfo never shows credentials; dropUser closes the door at the next login.
	info, err := root.Database("admin").RunCommand(ctx, bson.D{{Key: "usersInfo", Value: "app"}}).Raw()
	require.NoError(t, err)
	us, err := info.Lookup("users").Array().Values()
	require.NoError(t, err)
	require.Len(t, us, 1)
	require.Equal(t, "admin.app", us[0].Document().Lookup("_id").StringValue())
	_, err = us[0].Document().LookupErr("credentials")
	require.Error(t, err, "usersInfo shows no credentials")
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "dropUser", Value: "app"}}).Err())
	requireCode(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "dropUser", Value: "app"}}).Err(), 11)
	requireAuthFailed(t, connectAs(t, srv, "app", appPwd, "").Ping(ctx, nil))
	// ... and the connections app already had lose it too, at their next command.
	require.Eventually(t, func() bool {
		_, err := app.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{})
		var ce mongo.CommandError
		return errors.As(err, &ce) && ce.Code == 13
	}, 10*time.Second, 50*time.Millisecond)

	// mongosh logs in as a user does.
	if os.Getenv("CHRONOGO_MONGOSH") != "" || mongoshInstalled() {
		cmd := exec.Command(mongosh(t), "--quiet", "mongodb://"+srv.MongoAddr+"/metrics", "--username", "root", "--password", rootPwd,
			"--authenticationDatabase", "admin", "--eval", `print("N " + db.cpu.countDocuments({}))`)
		cmd.Env = append(os.Environ(), "MONGOSH_NO_UPDATE_CHECK=1", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "N 1")
	}

	// grantRolesToUser, revokeRolesFromUser and updateUser apply to open connections.
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "ops"},
		{Key: "pwd", Value: "ops-1"}, {Key: "roles", Value: bson.A{bson.D{{Key: "role", Value: "read"}, {Key: "db", Value: "metrics"}}}}}).Err())
	ops := connectAs(t, srv, "ops", "ops-1", "")
	insertOK := func() bool {
		_, err := ops.Database("metrics").Collection("cpu").InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "ops"}})
		return err == nil
	}
	require.False(t, insertOK())
	rw := bson.A{bson.D{{Key: "role", Value: "readWrite"}, {Key: "db", Value: "metrics"}}}
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "grantRolesToUser", Value: "ops"}, {Key: "roles", Value: rw}}).Err())
	require.Eventually(t, insertOK, 10*time.Second, 50*time.Millisecond, "granted readWrite")
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "revokeRolesFromUser", Value: "ops"}, {Key: "roles", Value: rw}}).Err())
	require.Eventually(t, func() bool { return !insertOK() }, 10*time.Second, 50*time.Millisecond, "revoked readWrite")
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "updateUser", Value: "ops"}, {Key: "pwd", Value: "ops-2"}}).Err())
	requireAuthFailed(t, connectAs(t, srv, "ops", "ops-1", "").Ping(ctx, nil))
	require.NoError(t, connectAs(t, srv, "ops", "ops-2", "SCRAM-SHA-1").Ping(ctx, nil))
	requireCode(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "grantRolesToUser", Value: "nobody"}, {Key: "roles", Value: rw}}).Err(), 11)

	// Users live in the Raft catalog: they survive a SIGKILL, and the localhost exception stays closed.
	srv.Kill()
	srv.Restart()
	again := connectAs(t, srv, "reader", "reader-pw", "")
	n, err = again.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "app's and ops' documents")
	anon2, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	defer anon2.Disconnect(context.Background())
	err = anon2.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "late"},
		{Key: "pwd", Value: "x"}, {Key: "roles", Value: bson.A{"root"}}}).Err()
	requireCode(t, err, 13)

	for _, secret := range []string{rootPwd, appPwd, "reader-pw", "ops-1", "ops-2"} {
		require.NotContains(t, srv.Log(), secret, "a password reached the log")
	}
}

func requireAuthFailed(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		require.EqualValues(t, 18, ce.Code, "%v", err)
		return
	}
	require.True(t, strings.Contains(err.Error(), "AuthenticationFailed") || strings.Contains(err.Error(), "auth error"), "%v", err)
}

func mongoshInstalled() bool {
	_, err := os.Stat("../.cache/mongosh/node_modules/.bin/mongosh")
	return err == nil
}
