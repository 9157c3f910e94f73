package tlsmode

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// recordTypeHandshake is the first byte of every TLS connection (a ClientHello record).
const recordTypeHandshake = 0x16

// sniffTimeout bounds the wait for a new connection's first byte.
const sniffTimeout = 10 * time.Second

// Listener accepts connections per a Mode: each new connection's first byte is read in its own
// goroutine (a client that sends nothing never blocks Accept); a TLS ClientHello gets a
// *tls.Conn (the handshake runs on its first Read), plaintext the connection itself. A connection
// the mode refuses is closed and logged.
type Listener struct {
	net.Listener
	mode Mode
	cfg  *tls.Config
	log  logrus.FieldLogger

	ready    chan net.Conn
	done     chan struct{}
	errMu    sync.Mutex
	err      error
	stopOnce sync.Once
}

// Wrap returns l itself for Disabled, else a Listener serving mode with cfg (which must hold a
// certificate).
func Wrap(l net.Listener, mode Mode, cfg *tls.Config, log logrus.FieldLogger) (net.Listener, error) {
	if mode == Disabled {
		return l, nil
	}
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil) {
		return nil, errors.New("tls mode " + mode.String() + " needs a certificate (--tls-cert-file and --tls-key-file)")
	}
	tl := &Listener{Listener: l, mode: mode, cfg: cfg, log: log, ready: make(chan net.Conn), done: make(chan struct{})}
	go tl.acceptLoop()
	return tl, nil
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.stop()
			return
		}
		go l.sniff(c)
	}
}

func (l *Listener) stop() { l.stopOnce.Do(func() { close(l.done) }) }

// sniff reads c's first byte and hands the connection to Accept in the form the mode wants.
func (l *Listener) sniff(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 1024)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		return
	}
	var out net.Conn
	switch {
	case first[0] == recordTypeHandshake:
		out = tls.Server(&peekedConn{Conn: c, r: br}, l.cfg)
	case l.mode.AcceptsPlaintext():
		out = &peekedConn{Conn: c, r: br}
	default:
		l.log.WithField("remote", c.RemoteAddr().String()).Warn("plaintext connection refused: --tls-mode=requireTLS")
		_ = c.Close()
		return
	}
	select {
	case l.ready <- out:
	case <-l.done:
		_ = out.Close()
	}
}

// Accept returns the next connection the mode accepts.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections being sniffed are closed.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.stop()
	return err
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
