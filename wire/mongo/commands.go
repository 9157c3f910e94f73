package mongo

// command is one entry of the command table.
type command struct {
	// handler runs the command
	handler handlerFunc
	// Help is shown by listCommands; empty hides the command
	Help string
}

// commands maps command names (case-sensitive, as in MongoDB) to handlers, sorted by name.
var commands map[string]command

func init() {
	// assigned in init because listCommands reads the table it is part of
	commands = map[string]command{
		"aggregate":                {handler: msgAggregate, Help: "Runs an aggregation pipeline."},
		"bulkWrite":                {handler: msgBulkWrite, Help: "Runs inserts, updates and deletes on several collections (admin)."},
		"setDefaultRWConcern":      {handler: msgSetDefaultRWConcern, Help: "Sets the database's default write level (ChronoGo: per database)."},
		"getDefaultRWConcern":      {handler: msgGetDefaultRWConcern, Help: "Reads the database's default write level."},
		"buildInfo":                {handler: msgBuildInfo, Help: "Returns the server's build information."},
		"buildinfo":                {handler: msgBuildInfo}, // old lowercase variant
		"collMod":                  {handler: msgCollMod, Help: "Changes a collection's TTL or bucketing."},
		"connectionStatus":         {handler: msgConnectionStatus, Help: "Returns the connection's authentication state."},
		"count":                    {handler: msgCount, Help: "Counts the documents matching a query."},
		"currentOp":                {handler: msgCurrentOp, Help: "Lists the commands running (filters on the entries as fields)."},
		"killOp":                   {handler: msgKillOp, Help: "Interrupts a running command by its opid."},
		"collStats":                {handler: msgCollStats, Help: "Returns a collection's document count and sizes."},
		"dbStats":                  {handler: msgDBStats, Help: "Returns a database's collections, documents and sizes."},
		"create":                   {handler: msgCreate, Help: "Creates a time-series collection, or a plain one."},
		"createIndexes":            {handler: msgCreateIndexes, Help: "Creates secondary indexes."},
		"delete":                   {handler: msgDelete, Help: "Deletes documents by metaField and time."},
		"distinct":                 {handler: msgDistinct, Help: "Returns the distinct values of a field."},
		"drop":                     {handler: msgDrop, Help: "Drops a collection."},
		"dropDatabase":             {handler: msgDropDatabase, Help: "Drops a database."},
		"dropIndexes":              {handler: msgDropIndexes, Help: "Drops secondary indexes."},
		"endSessions":              {handler: msgEndSessions, Help: "Ends sessions (a no-op)."},
		"find":                     {handler: msgFind, Help: "Queries a collection."},
		"findAndModify":            {handler: msgFindAndModify, Help: "Updates, replaces or removes one document of a plain collection and returns it."},
		"findandmodify":            {handler: msgFindAndModify}, // old lowercase variant
		"getLog":                   {handler: msgGetLog, Help: "Returns recent log lines."},
		"getMore":                  {handler: msgGetMore, Help: "Returns the next batch of a cursor."},
		"getParameter":             {handler: msgGetParameter, Help: "Returns server parameters."},
		"hello":                    {handler: msgHello, Help: "Returns the server's role and limits."},
		"hostInfo":                 {handler: msgHostInfo, Help: "Returns information about the host."},
		"insert":                   {handler: msgInsert, Help: "Inserts measurements."},
		"isMaster":                 {handler: msgHello, Help: "Returns the server's role and limits (legacy hello)."},
		"ismaster":                 {handler: msgHello}, // old lowercase variant
		"killAllSessions":          {handler: msgEndSessions, Help: "Kills all sessions (a no-op)."},
		"killCursors":              {handler: msgKillCursors, Help: "Closes cursors."},
		"listCollections":          {handler: msgListCollections, Help: "Lists the collections of a database."},
		"listCommands":             {handler: msgListCommands, Help: "Lists the supported commands."},
		"listDatabases":            {handler: msgListDatabases, Help: "Lists databases."},
		"listIndexes":              {handler: msgListIndexes, Help: "Lists a collection's indexes."},
		"ping":                     {handler: msgPing, Help: "Checks that the server answers."},
		"explain":                  {handler: msgExplain, Help: "Shows what a find, count or aggregate pushes down to storage, and runs it with executionStats."},
		"serverStatus":             {handler: msgServerStatus, Help: "Returns the server's connections, operation counters, memory and ChronoGo's node state."},
		"getCmdLineOpts":           {handler: msgGetCmdLineOpts, Help: "Returns the server's command line and effective settings."},
		"update":                   {handler: msgUpdate, Help: "Updates documents (of time series: their metaField)."},
		"whatsmyuri":               {handler: msgWhatsMyURI, Help: "Returns the client's address."},
		"saslStart":                {handler: msgSaslStart, Help: "Begins a SCRAM-SHA-256 or SCRAM-SHA-1 login."},
		"saslContinue":             {handler: msgSaslContinue, Help: "Continues a SCRAM login."},
		"logout":                   {handler: msgLogout, Help: "Ends the connection's login."},
		"createUser":               {handler: msgCreateUser, Help: "Creates a user of the command's database."},
		"dropUser":                 {handler: msgDropUser, Help: "Drops a user."},
		"dropAllUsersFromDatabase": {handler: msgDropAllUsersFromDatabase, Help: "Drops every user of the database."},
		"usersInfo":                {handler: msgUsersInfo, Help: "Describes users (never their credentials)."},
		"updateUser":               {handler: msgUpdateUser, Help: "Changes a user's password or roles."},
		"grantRolesToUser":         {handler: msgGrantRolesToUser, Help: "Grants roles to a user."},
		"revokeRolesFromUser":      {handler: msgRevokeRolesFromUser, Help: "Revokes roles from a user."},
		"createTenant":             {handler: msgCreateTenant, Help: "Creates a tenant with quotas (cluster administrators)."},
		"updateTenant":             {handler: msgUpdateTenant, Help: "Replaces a tenant's quotas (cluster administrators)."},
		"dropTenant":               {handler: msgDropTenant, Help: "Drops a tenant without databases (cluster administrators)."},
		"listTenants":              {handler: msgListTenants, Help: "Lists tenants with quotas and counts (cluster administrators)."},
	}
}
