// Package tlsmode serves TLS on the client listeners the way mongod's --tlsMode does: disabled,
// allowTLS, preferTLS or requireTLS, telling TLS from plaintext by a connection's first byte.
package tlsmode
