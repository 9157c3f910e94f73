// Package console serves the admin console: one page at /console/ (assets embedded, nothing
// fetched from elsewhere) that reads the node's JSON admin API every second.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Handler serves the console's files under /console/.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil { // the embedded tree always has assets/
		panic(err)
	}
	files := http.StripPrefix("/console/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", "default-src 'self'")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(rw, r)
	})
}
