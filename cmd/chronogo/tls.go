package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/wire/tlsmode"
)

// tlsMode is the client listeners' mode: --tls-mode, or requireTLS when a certificate is given
// without one (disabled without a certificate).
func (c *config) tlsMode() (tlsmode.Mode, error) {
	if c.TLSMode == "" {
		if c.TLSCertFile != "" {
			return tlsmode.Require, nil
		}
		return tlsmode.Disabled, nil
	}
	m, err := tlsmode.Parse(c.TLSMode)
	if err != nil {
		return m, fmt.Errorf("--tls-mode: %w", err)
	}
	if m != tlsmode.Disabled && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		return m, fmt.Errorf("--tls-mode=%s needs --tls-cert-file and --tls-key-file", m)
	}
	return m, nil
}

// tlsSetup is a node's TLS: its client listeners' mode and configuration, and the mutual TLS
// between nodes (nil peer configs: plaintext between nodes).
type tlsSetup struct {
	mode                   tlsmode.Mode
	server                 *tls.Config
	files                  tlsmode.Files
	peerServer, peerClient *tls.Config
}

func (c *config) tlsSetup() (*tlsSetup, error) {
	mode, err := c.tlsMode()
	if err != nil {
		return nil, err
	}
	t := &tlsSetup{mode: mode, files: tlsmode.Files{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, CAFile: c.TLSCAFile}}
	if mode != tlsmode.Disabled || c.ClusterTLS {
		if t.server, err = t.files.ServerConfig(); err != nil {
			return nil, err
		}
	}
	if c.ClusterTLS {
		if t.peerServer, t.peerClient, err = t.files.MutualConfigs(); err != nil {
			return nil, err
		}
		if mode == tlsmode.Disabled {
			// the meta service rides on the HTTP listener: it takes TLS for the other nodes
			t.mode = tlsmode.Allow
		}
	}
	return t, nil
}

// wrap serves the mode on a client listener.
func (t *tlsSetup) wrap(l net.Listener, log logrus.FieldLogger) (net.Listener, error) {
	w, err := tlsmode.Wrap(l, t.mode, t.server, log)
	if err != nil {
		return nil, fmt.Errorf("tls on %s: %w", l.Addr(), err)
	}
	return w, nil
}
