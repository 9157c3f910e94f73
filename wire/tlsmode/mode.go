package tlsmode

import (
	"fmt"
	"strings"
)

// Mode is mongod's net.tls.mode.
type Mode int

// The modes: which connections a listener accepts.
const (
	// Disabled: plaintext only (no certificate needed).
	Disabled Mode = iota
	// Allow: plaintext and TLS; between nodes plaintext.
	Allow
	// Prefer: plaintext and TLS; between nodes TLS.
	Prefer
	// Require: TLS only; a plaintext connection is closed.
	Require
)

var names = map[Mode]string{Disabled: "disabled", Allow: "allowTLS", Prefer: "preferTLS", Require: "requireTLS"}

func (m Mode) String() string { return names[m] }

// Parse reads a mode name as mongod spells it (case-insensitive).
func Parse(s string) (Mode, error) {
	for m, n := range names {
		if strings.EqualFold(s, n) {
			return m, nil
		}
	}
	return Disabled, fmt.Errorf("tls mode %q: want disabled, allowTLS, preferTLS or requireTLS", s)
}

// AcceptsPlaintext reports whether clients may connect without TLS.
func (m Mode) AcceptsPlaintext() bool { return m != Require }

// AcceptsTLS reports whether clients may connect with TLS.
func (m Mode) AcceptsTLS() bool { return m != Disabled }
