package catalog

import "github.com/chronogo/chronogo/meta/model"

// Op names a catalog command. The names travel in the Raft log, so never rename one.
type Op string

// The catalog commands.
const (
	OpCreateTenant     Op = "create_tenant"
	OpUpdateTenant     Op = "update_tenant"
	OpDropTenant       Op = "drop_tenant"
	OpCreateUser       Op = "create_user"
	OpDropUser         Op = "drop_user"
	OpUpdateUser       Op = "update_user"
	OpCreateDatabase   Op = "create_database"
	OpDropDatabase     Op = "drop_database"
	OpCreateCollection Op = "create_collection"
	OpDropCollection   Op = "drop_collection"
	OpUpdateCollection Op = "update_collection"
	OpUpdateDatabase   Op = "update_database" // Consistency: the database's default write level
	// OpReplaceCollection puts collection From in Name's place in one step (a $out): Name's
	// former entry, if any, is kept under the hidden name Retire until its data is dropped.
	OpReplaceCollection Op = "replace_collection"
)

// Command is one proposed catalog mutation. Only the fields of its Op are set. Now is the proposer's
// clock (unix ns): Apply never reads a clock.
type Command struct {
	Op         Op                `json:"op"`
	Now        int64             `json:"now"`
	Tenant     string            `json:"tenant,omitempty"`
	DB         string            `json:"db,omitempty"`
	Name       string            `json:"name,omitempty"`
	Database   *model.Database   `json:"database,omitempty"`
	Collection *model.Collection `json:"collection,omitempty"`
	User       *model.User       `json:"user,omitempty"`
	Update     *CollectionUpdate `json:"update,omitempty"`
	UserUpdate *UserUpdate       `json:"user_update,omitempty"`
	Quotas     *model.Quotas     `json:"quotas,omitempty"`
	// Consistency is update_database's new default write level (any, one, quorum, all).
	Consistency string `json:"consistency,omitempty"`
	// GlobalUserName makes create_user refuse a name any tenant has (logins name no tenant).
	// Commands logged before tenants existed lack it and keep their per-tenant check, so old
	// logs replay to the same state.
	GlobalUserName bool `json:"global_user_name,omitempty"`
	// From and Retire are replace_collection's staging collection and the hidden name the
	// replaced collection keeps until it is dropped.
	From   string `json:"from,omitempty"`
	Retire string `json:"retire,omitempty"`
}

// UserUpdate changes a user (updateUser, grantRolesToUser, revokeRolesFromUser) in one step.
type UserUpdate struct {
	Credentials []byte   `json:"credentials,omitempty"` // new credentials; nil keeps them
	SetRoles    bool     `json:"set_roles,omitempty"`   // replace the roles by Roles
	Roles       []string `json:"roles,omitempty"`
	AddRoles    []string `json:"add_roles,omitempty"`    // granted (once each)
	RemoveRoles []string `json:"remove_roles,omitempty"` // revoked
}

// CollectionUpdate is a collMod: each Set flag says whether its fields apply.
type CollectionUpdate struct {
	SetTTL             bool          `json:"set_ttl,omitempty"`
	HasTTL             bool          `json:"has_ttl,omitempty"`
	ExpireAfterSeconds int64         `json:"expire_after_seconds,omitempty"`
	SetIndexes         bool          `json:"set_indexes,omitempty"`
	Indexes            []model.Index `json:"indexes,omitempty"`
	// Granularity, when not empty, raises the granularity (seconds → minutes → hours) and resets
	// BucketMaxSpanSeconds to the granularity's span, as MongoDB's collMod does.
	Granularity string `json:"granularity,omitempty"`
}

// Code is the outcome of a command; it is also the dragonboat Result.Value.
type Code uint64

// The catalog result codes.
const (
	CodeOK                 Code = iota // mutation applied (drop, update)
	CodeCreated                        // object created
	CodeExists                         // object exists with identical options: nothing changed
	CodeExistsDifferent                // collection exists with other options (MongoDB code 48)
	CodeTenantNotFound                 // tenant does not exist
	CodeDatabaseNotFound               // database does not exist
	CodeCollectionNotFound             // collection does not exist
	CodeUserNotFound                   // user does not exist
	CodeInvalid                        // malformed command or invalid options; Message says why
	CodeQuotaExceeded                  // a tenant quota refuses it; Message names the quota
	CodeNotEmpty                       // a tenant that still has databases cannot be dropped
)

// String names the code for logs and errors.
func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeCreated:
		return "created"
	case CodeExists:
		return "exists"
	case CodeExistsDifferent:
		return "exists_different"
	case CodeTenantNotFound:
		return "tenant_not_found"
	case CodeDatabaseNotFound:
		return "database_not_found"
	case CodeCollectionNotFound:
		return "collection_not_found"
	case CodeUserNotFound:
		return "user_not_found"
	case CodeInvalid:
		return "invalid"
	case CodeQuotaExceeded:
		return "quota_exceeded"
	case CodeNotEmpty:
		return "not_empty"
	}
	return "unknown"
}

// Result is what Apply returns: the code, a message for CodeInvalid, the object created, found or
// dropped, and the shard version after the command.
type Result struct {
	Code       Code              `json:"code"`
	Message    string            `json:"message,omitempty"`
	Database   *model.Database   `json:"database,omitempty"`
	Collection *model.Collection `json:"collection,omitempty"`
	// Dropped lists the collections removed with a dropped database, or the retired collection
	// of a replace_collection.
	Dropped []string `json:"dropped,omitempty"`
	Version uint64   `json:"version"`
}
