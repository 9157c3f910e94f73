package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// Backups is what the backup and restore endpoints ask of a data node.
type Backups interface {
	// StartBackup checkpoints the node's vnodes that req selects and writes the catalog and the
	// plain collections' documents beside them, under a new id.
	StartBackup(ctx context.Context, req BackupRequest) (BackupInfo, error)
	// OpenBackupFile opens file path (relative, as BackupInfo lists it) of backup id.
	OpenBackupFile(id, path string) (*os.File, error)
	// DropBackup removes backup id from the node.
	DropBackup(id string) error
	// RestoreCatalog creates a catalog's databases, collections and users (under database as
	// when it is set).
	RestoreCatalog(ctx context.Context, cat BackupCatalog, as string) (RestoreCatalogResult, error)
	// RestorePlain upserts BSON documents into a plain collection.
	RestorePlain(ctx context.Context, tenant, db, coll string, r io.Reader) (int64, error)
	// RestoreBatch writes stored columns into a time-series collection.
	RestoreBatch(ctx context.Context, tenant, db, coll string, b *storage.Batch) error
}

// BackupRequest selects what a node's backup holds: the vnodes of a tenant and a database (when
// set), and only the vnodes listed when Vnodes is not nil (a cluster backup takes one replica of
// each replica set, from the nodes that hold them).
type BackupRequest struct {
	Tenant, DB string
	Vnodes     []uint64
}

// maxBackupVnodes bounds the vnode list of a backup request.
const maxBackupVnodes = 1 << 20

// backupRequest reads ?tenant=&db=&vnodes=1,2,3 (vnodes present and empty: none).
func backupRequest(r *http.Request) (BackupRequest, error) {
	q := r.URL.Query()
	req := BackupRequest{Tenant: q.Get("tenant"), DB: q.Get("db")}
	if !q.Has("vnodes") {
		return req, nil
	}
	req.Vnodes = []uint64{}
	list := q.Get("vnodes")
	if list == "" {
		return req, nil
	}
	parts := strings.Split(list, ",")
	if len(parts) > maxBackupVnodes {
		return req, fmt.Errorf("vnodes: more than %d", maxBackupVnodes)
	}
	for _, p := range parts {
		id, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return req, fmt.Errorf("vnodes: %q is not a vnode id", p)
		}
		req.Vnodes = append(req.Vnodes, id)
	}
	return req, nil
}

// BackupInfo answers POST /api/v1/backup: the files of the node's checkpoint.
type BackupInfo struct {
	ID      string       `json:"id"`
	Created string       `json:"created"` // RFC 3339
	Node    uint64       `json:"node"`
	Files   []BackupFile `json:"files"`
}

// BackupFile is one file of a checkpoint: its path, size, and whether files of that path never
// change (TSM and delta files: a backup holding one of the same path and size holds it).
type BackupFile struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	Immutable bool   `json:"immutable,omitempty"`
}

// BackupCatalog is a backup's catalog.json: what restore creates before the data.
type BackupCatalog struct {
	Version     int               `json:"version"`
	Databases   []meta.Database   `json:"databases"`
	Collections []meta.Collection `json:"collections"`
	Users       []meta.User       `json:"users,omitempty"`
	// Plain lists the files of the plain collections' documents.
	Plain []PlainFile `json:"plain,omitempty"`
}

// PlainFile is the documents of one plain collection, BSON after BSON.
type PlainFile struct {
	Tenant string `json:"tenant"`
	DB     string `json:"db"`
	Coll   string `json:"coll"`
	Path   string `json:"path"`
	Count  int64  `json:"count"`
}

// RestoreCatalogResult answers POST /api/v1/restore/catalog.
type RestoreCatalogResult struct {
	Databases   int `json:"databases"`
	Collections int `json:"collections"`
	Users       int `json:"users"`
}

// backupID is the form of backup ids (never a path).
var backupID = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

// maxRestoreBody bounds a restore request's body.
const maxRestoreBody = 256 << 20

// backupRoutes adds the backup and restore endpoints (cluster administrators only).
func backupRoutes(mux *http.ServeMux, b Backups, auth AdminAuth) {
	mux.HandleFunc("POST /api/v1/backup", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		req, err := backupRequest(r)
		if err != nil {
			adminError(rw, http.StatusBadRequest, err.Error())
			return
		}
		info, err := b.StartBackup(r.Context(), req)
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
	mux.HandleFunc("GET /api/v1/backup/{id}/file", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		id := r.PathValue("id")
		if !backupID.MatchString(id) {
			adminError(rw, http.StatusBadRequest, "bad backup id")
			return
		}
		f, err := b.OpenBackupFile(id, r.URL.Query().Get("path"))
		if err != nil {
			status := http.StatusNotFound
			if errors.Is(err, ErrBadRequest) {
				status = http.StatusBadRequest
			}
			adminError(rw, status, err.Error())
			return
		}
		defer f.Close()
		rw.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(rw, f)
	})
	mux.HandleFunc("DELETE /api/v1/backup/{id}", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		id := r.PathValue("id")
		if !backupID.MatchString(id) {
			adminError(rw, http.StatusBadRequest, "bad backup id")
			return
		}
		if err := b.DropBackup(id); err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/restore/catalog", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		var cat BackupCatalog
		if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxRestoreBody)).Decode(&cat); err != nil {
			adminError(rw, http.StatusBadRequest, "catalog: "+err.Error())
			return
		}
		res, err := b.RestoreCatalog(r.Context(), cat, r.URL.Query().Get("as"))
		if err != nil {
			adminError(rw, restoreStatus(err), err.Error())
			return
		}
		writeJSON(rw, res)
	})
	mux.HandleFunc("POST /api/v1/restore/plain", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		q := r.URL.Query()
		n, err := b.RestorePlain(r.Context(), q.Get("tenant"), q.Get("db"), q.Get("coll"), http.MaxBytesReader(rw, r.Body, maxRestoreBody))
		if err != nil {
			adminError(rw, restoreStatus(err), err.Error())
			return
		}
		writeJSON(rw, map[string]int64{"documents": n})
	})
	mux.HandleFunc("POST /api/v1/restore/batch", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxRestoreBody))
		if err != nil {
			adminError(rw, http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
		batch, err := storage.DecodeBatch(body)
		if err != nil {
			adminError(rw, http.StatusBadRequest, "batch: "+err.Error())
			return
		}
		q := r.URL.Query()
		if err := b.RestoreBatch(r.Context(), q.Get("tenant"), q.Get("db"), q.Get("coll"), batch); err != nil {
			status := restoreStatus(err)
			if status == http.StatusServiceUnavailable {
				rw.Header().Set("Retry-After", "1")
			}
			adminError(rw, status, err.Error())
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
}

// restoreStatus is the HTTP status of a restore error.
func restoreStatus(err error) int {
	if errors.Is(err, ErrBadRequest) {
		return http.StatusBadRequest
	}
	if s, _ := writeStatus(err); s != http.StatusInternalServerError {
		return s
	}
	return http.StatusInternalServerError
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(v) // a client gone half way: nothing to do
}
