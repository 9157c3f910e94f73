package tlsmode

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/tlsmode/tlstest"
)

// dialer bounds dials and TLS handshakes (a plaintext server never answers a ClientHello).
var dialer = &net.Dialer{Timeout: 2 * time.Second}

// echoServer answers each line of each accepted connection with the same line.
func echoServer(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// roundTrip says hello over c and reports whether the echo came back.
func roundTrip(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "hello\n"
}

func TestModes(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "test")
	certFile, keyFile := ca.Issue(t, "server")
	scfg, err := Files{CertFile: certFile, KeyFile: keyFile, CAFile: ca.CertFile}.ServerConfig()
	require.NoError(t, err)
	caPEM, err := os.ReadFile(ca.CertFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	other := tlstest.NewCA(t, dir, "other")
	otherPEM, err := os.ReadFile(other.CertFile)
	require.NoError(t, err)
	wrongRoots := x509.NewCertPool()
	require.True(t, wrongRoots.AppendCertsFromPEM(otherPEM))

	cases := []struct {
		mode                 Mode
		plain, tlsOK, tlsBad bool // plaintext, TLS trusting the CA, TLS trusting another CA
	}{
		{Disabled, true, false, false},
		{Allow, true, true, false},
		{Prefer, true, true, false},
		{Require, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.mode.String(), func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			log, hook := test.NewNullLogger()
			l, err := Wrap(raw, c.mode, scfg, log)
			require.NoError(t, err)
			defer l.Close()
			echoServer(t, l)
			addr := raw.Addr().String()

			pc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			require.Equal(t, c.plain, roundTrip(pc), "plaintext")
			_ = pc.Close()

			tc, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			if err == nil {
				require.Equal(t, c.tlsOK, roundTrip(tc), "tls")
				_ = tc.Close()
			} else {
				require.False(t, c.tlsOK, "tls dial: %v", err)
			}

			_, err = tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: wrongRoots, ServerName: "127.0.0.1"})
			require.Error(t, err, "a client that does not trust the server's CA fails its handshake")

			if c.mode == Require {
				require.Eventually(t, func() bool {
					for _, e := range hook.AllEntries() {
						if e.Message == "plaintext connection refused: --tls-mode=requireTLS" {
							return true
						}
					}
					return false
				}, 3*time.Second, 20*time.Millisecond)
			}
		})
	}
}

// TestSilentClientDoesNotBlockAccept: a connection that sends nothing does not hold up others.
func TestSilentClientDoesNotBlockAccept(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "test")
	certFile, keyFile := ca.Issue(t, "server")
	scfg, err := Files{CertFile: certFile, KeyFile: keyFile}.ServerConfig()
	require.NoError(t, err)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l, err := Wrap(raw, Allow, scfg, quiet())
	require.NoError(t, err)
	defer l.Close()
	echoServer(t, l)
	for i := 0; i < 20; i++ {
		silent, err := net.Dial("tcp", raw.Addr().String())
		require.NoError(t, err)
		defer silent.Close()
	}
	c, err := net.Dial("tcp", raw.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.True(t, roundTrip(c))
}

func TestWrapNeedsCertificate(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer raw.Close()
	_, err = Wrap(raw, Require, nil, quiet())
	require.ErrorContains(t, err, "needs a certificate")
	l, err := Wrap(raw, Disabled, nil, quiet())
	require.NoError(t, err)
	require.Equal(t, raw, l)
	_, err = Parse("sometimes")
	require.Error(t, err)
	m, err := Parse("requiretls")
	require.NoError(t, err)
	require.Equal(t, Require, m)
}

func quiet() logrus.FieldLogger {
	l, _ := test.NewNullLogger()
	return l
}
