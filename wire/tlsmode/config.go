package tlsmode

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Files are the PEM files of a node's TLS identity.
type Files struct {
	CertFile, KeyFile string // the node's certificate chain and private key
	CAFile            string // the CA that signs client (and, between nodes, peer) certificates
}

// ServerConfig is the TLS configuration of a client listener: the node's certificate; with a CA
// file, a client certificate is verified against it when a client presents one (clients need
// none: they log in with SCRAM). Nodes calling the meta service present theirs.
func (f Files) ServerConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls certificate %s / key %s: %w", f.CertFile, f.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pool, err := loadCA(f.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// MutualConfigs are the TLS configurations between nodes: each side presents the node's
// certificate and requires the other's, signed by the CA.
func (f Files) MutualConfigs() (server, client *tls.Config, err error) {
	if f.CAFile == "" {
		return nil, nil, fmt.Errorf("tls between nodes needs --tls-ca-file")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load tls certificate %s / key %s: %w", f.CertFile, f.KeyFile, err)
	}
	pool, err := loadCA(f.CAFile)
	if err != nil {
		return nil, nil, err
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tls ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls ca file %s holds no PEM certificate", path)
	}
	return pool, nil
}
