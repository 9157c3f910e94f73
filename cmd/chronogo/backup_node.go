package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/httpapi"
)

var _ httpapi.Backups = nodeAdmin{}

// StartBackup makes <backupRoot>/<id>: a checkpoint of the node's vnodes (of tenant and db when
// set) laid out as a data directory, catalog.json, and plain/<n>.bson with the documents of each
// plain collection. The catalog and the plain documents are read after the vnodes.
func (a nodeAdmin) StartBackup(ctx context.Context, req httpapi.BackupRequest) (httpapi.BackupInfo, error) {
	tenant, db := req.Tenant, req.DB
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	now := time.Now().UTC()
	info := httpapi.BackupInfo{ID: now.Format("20060102-150405") + "-" + hex.EncodeToString(suffix[:]), Created: now.Format(time.RFC3339Nano), Node: a.self}
	root := filepath.Join(a.backupRoot, info.ID)
	fail := func(err error) (httpapi.BackupInfo, error) {
		_ = os.RemoveAll(root)
		return httpapi.BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	keep := func(s vnode.Spec) bool {
		return (tenant == "" || s.Tenant == tenant) && (db == "" || s.DB == db) && (req.Vnodes == nil || slices.Contains(req.Vnodes, s.VnodeID))
	}
	ckpts, err := a.n.Checkpoint(ctx, root, keep)
	if err != nil {
		return fail(err)
	}
	for _, c := range ckpts {
		for _, f := range c.Files {
			info.Files = append(info.Files, httpapi.BackupFile{Path: filepath.ToSlash(filepath.Join(c.Dir, f.Path)), Size: f.Size, Immutable: f.Immutable})
		}
	}
	cat, err := a.b.BackupCatalog(ctx, tenant, db)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "plain"), 0o755); err != nil {
		return fail(err)
	}
	for i := range cat.Collections {
		c := &cat.Collections[i]
		if !c.Plain() {
			continue
		}
		rel := fmt.Sprintf("plain/%d.bson", i)
		n, size, err := writeFileWith(filepath.Join(root, rel), func(w io.Writer) (int64, error) { return a.b.BackupPlain(ctx, c, w) })
		if err != nil {
			return fail(err)
		}
		cat.Plain = append(cat.Plain, httpapi.PlainFile{Tenant: c.Tenant, DB: c.DB, Coll: c.Name, Path: rel, Count: n})
		info.Files = append(info.Files, httpapi.BackupFile{Path: rel, Size: size})
	}
	_, size, err := writeFileWith(filepath.Join(root, "catalog.json"), func(w io.Writer) (int64, error) {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return 0, enc.Encode(cat)
	})
	if err != nil {
		return fail(err)
	}
	info.Files = append(info.Files, httpapi.BackupFile{Path: "catalog.json", Size: size})
	return info, nil
}

// writeFileWith creates path, lets fill write it (buffered), fsyncs it and returns fill's count
// and the file's size.
func writeFileWith(path string, fill func(w io.Writer) (int64, error)) (int64, int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	n, err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	st, serr := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, st.Size(), nil
}

// OpenBackupFile opens a regular file below backup id's directory; any other path is refused.
func (a nodeAdmin) OpenBackupFile(id, path string) (*os.File, error) {
	clean := filepath.Clean(filepath.FromSlash(path))
	if path == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || clean == "." {
		return nil, fmt.Errorf("%w: path %q", httpapi.ErrBadRequest, path)
	}
	full := filepath.Join(a.backupRoot, id, clean)
	st, err := os.Lstat(full)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, errors.Unwrap(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a file", httpapi.ErrBadRequest, path)
	}
	return os.Open(full)
}

// DropBackup removes backup id's checkpoint.
func (a nodeAdmin) DropBackup(id string) error {
	return os.RemoveAll(filepath.Join(a.backupRoot, id))
}

// RestoreCatalog, RestorePlain and RestoreBatch write through the node's backend.
func (a nodeAdmin) RestoreCatalog(ctx context.Context, cat httpapi.BackupCatalog, as string) (httpapi.RestoreCatalogResult, error) {
	return a.b.RestoreCatalog(ctx, cat, as)
}

func (a nodeAdmin) RestorePlain(ctx context.Context, tenant, db, coll string, r io.Reader) (int64, error) {
	return a.b.RestorePlain(ctx, tenant, db, coll, r)
}

func (a nodeAdmin) RestoreBatch(ctx context.Context, tenant, db, coll string, b *storage.Batch) error {
	return a.b.RestoreBatch(ctx, tenant, db, coll, b)
}
