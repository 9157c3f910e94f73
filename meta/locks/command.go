package locks

// Op names a locks command. The names travel in the Raft log, so never rename one.
type Op string

// The locks commands.
const (
	OpAcquire Op = "acquire"
	OpRenew   Op = "renew"
	OpRelease Op = "release"
)

// Command is one proposed lock operation. Now is the proposer's clock (unix ns) and TTL a duration
// in ns: Apply never reads a clock.
type Command struct {
	Op     Op     `json:"op"`
	Now    int64  `json:"now"`
	Name   string `json:"name"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token,omitempty"` // renew, release
	TTL    int64  `json:"ttl,omitempty"`   // acquire, renew
}

// Code is the outcome of a command; it is also the dragonboat Result.Value.
type Code uint64

// The locks result codes.
const (
	CodeOK        Code = iota // renewed or released
	CodeGranted               // acquired (or re-acquired by its holder: same token, new expiry)
	CodeHeld                  // another holder has an unexpired lease; Lease shows it
	CodeNotHolder             // holder or token do not match the lease
	CodeExpired               // the holder's lease expired before this renew
	CodeNotFound              // no such lease
	CodeInvalid               // malformed command; Message says why
)

// String names the code for logs and errors.
func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeGranted:
		return "granted"
	case CodeHeld:
		return "held"
	case CodeNotHolder:
		return "not_holder"
	case CodeExpired:
		return "expired"
	case CodeNotFound:
		return "not_found"
	case CodeInvalid:
		return "invalid"
	}
	return "unknown"
}

// Lease is a granted lock.
type Lease struct {
	Name       string `json:"name"`
	Holder     string `json:"holder"`
	Token      uint64 `json:"token"`       // fencing token: strictly increasing across grants
	AcquiredAt int64  `json:"acquired_at"` // now of the grant
	ExpiresAt  int64  `json:"expires_at"`  // the lease is free once now >= ExpiresAt
}

// Result is what Apply returns; Lease is the lease after the command (or the blocking one).
type Result struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
	Lease   *Lease `json:"lease,omitempty"`
	Version uint64 `json:"version"`
}
