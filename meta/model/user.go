package model

// User is a user of a tenant. Credentials are opaque to meta: the wire layer stores its SCRAM
// material (salt, iteration count, StoredKey, ServerKey) in whatever encoding it chooses.
type User struct {
	Tenant, Name string
	Credentials  []byte
	Roles        []string
	CreatedAt    int64 // unix ns, from the proposing node's clock
}
