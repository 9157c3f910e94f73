package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/wal"
	"github.com/chronogo/chronogo/wire/httpapi"
)

// restoreFlags are restore's options.
type restoreFlags struct {
	from, addr, user, password, db, as string
	batchPoints                        int
	quiet                              bool
}

// restoreCommand restores a backup into a running node.
func restoreCommand() *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into a running node (an empty one, or one database under a new name)",
		Long: "Verifies the backup (every SHA-256 and the checksums inside its files) before it changes anything, then\n" +
			"creates its databases, collections (options, indexes) and users through the node's admin API (--addr),\n" +
			"upserts the plain collections' documents, and writes every vnode's data (each vnode of the backup is\n" +
			"opened as it was, and its series read and written through the node's write path, which places them as\n" +
			"the target cluster does). --db restores one database, --as under another name.",
		Example: "  chronogo restore --from /backups/chronogo/20261204-231500-1a2b3c4d\n" +
			"  chronogo restore --from /backups/chronogo/20261204-231500-1a2b3c4d --db metrics --as metrics_copy --addr 10.0.0.5:8080",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := runRestore(c.Context(), f, c.ErrOrStderr()); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the backup directory (one with manifest.json; required)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "the node's HTTP address")
	fl.StringVar(&f.user, "user", "", "a cluster administrator (with --auth)")
	fl.StringVar(&f.password, "password", "", "the administrator's password")
	fl.StringVar(&f.db, "db", "", "only this database")
	fl.StringVar(&f.as, "as", "", "with --db: restore it under this name")
	fl.IntVar(&f.batchPoints, "batch-points", 200_000, "points per write")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func runRestore(ctx context.Context, f restoreFlags, stderr io.Writer) error {
	if f.as != "" && f.db == "" {
		return errors.New("--as needs --db")
	}
	if err := verifyBackup(f.from, io.Discard); err != nil {
		return fmt.Errorf("the backup does not verify, nothing restored: %w", err)
	}
	var cat httpapi.BackupCatalog
	b, err := os.ReadFile(filepath.Join(f.from, "catalog.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &cat); err != nil {
		return fmt.Errorf("catalog.json: %w", err)
	}
	if f.db != "" {
		cat = filterCatalog(cat, f.db)
		if len(cat.Databases) == 0 {
			return fmt.Errorf("the backup has no database %q", f.db)
		}
	}
	target := func(db string) string {
		if f.as != "" {
			return f.as
		}
		return db
	}
	ac := newAdminClient(f.addr, f.user, f.password)
	body, _ := json.Marshal(cat)
	var cres httpapi.RestoreCatalogResult
	if err := ac.json(ctx, http.MethodPost, "/api/v1/restore/catalog?as="+url.QueryEscape(f.as), bytes.NewReader(body), &cres); err != nil {
		return err
	}
	tables := map[string]string{} // tenant/db/table of the time series restored -> collection
	for _, c := range cat.Collections {
		if !c.Plain() {
			tables[c.Tenant+"/"+c.DB+"/"+c.TableName()] = c.Name
		}
	}
	var docs int64
	for _, p := range cat.Plain {
		n, err := restorePlainFile(ctx, ac, f.from, p, target(p.DB))
		if err != nil {
			return err
		}
		docs += n
	}
	vnodes, err := backupVnodes(filepath.Join(f.from, layout.DataDir), f.db)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, -1, "restore points", false, f.quiet)
	var points int64
	for _, v := range vnodes {
		n, err := restoreVnode(ctx, ac, v, target(v.db), tables, f.batchPoints, func(k int) { _ = bar.Add(k) })
		points += n
		if err != nil {
			return fmt.Errorf("vnode %s: %w", v.dir, err)
		}
	}
	_ = bar.Finish()
	fmt.Fprintf(stderr, "restored %d databases, %d collections, %d users, %d plain documents, %d points from %d vnodes\n",
		cres.Databases, cres.Collections, cres.Users, docs, points, len(vnodes))
	return nil
}

// filterCatalog keeps one database of a catalog (and no users: they belong to the tenant).
func filterCatalog(cat httpapi.BackupCatalog, db string) httpapi.BackupCatalog {
	out := httpapi.BackupCatalog{Version: cat.Version}
	for _, d := range cat.Databases {
		if d.Name == db {
			out.Databases = append(out.Databases, d)
		}
	}
	for _, c := range cat.Collections {
		if c.DB == db {
			out.Collections = append(out.Collections, c)
		}
	}
	for _, p := range cat.Plain {
		if p.DB == db {
			out.Plain = append(out.Plain, p)
		}
	}
	return out
}

// maxPlainRequest bounds the documents of one plain restore request.
const maxPlainRequest = 32 << 20

// restorePlainFile sends a plain collection's documents in requests of at most maxPlainRequest.
func restorePlainFile(ctx context.Context, ac *adminClient, from string, p httpapi.PlainFile, db string) (int64, error) {
	path, err := localPath(from, p.Path)
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var n int64
	q := "/api/v1/restore/plain?tenant=" + url.QueryEscape(p.Tenant) + "&db=" + url.QueryEscape(db) + "&coll=" + url.QueryEscape(p.Coll)
	for len(data) > 0 {
		end := 0
		for end < len(data) && end < maxPlainRequest {
			if len(data)-end < 4 {
				return n, fmt.Errorf("%s: a truncated document at %d", p.Path, end)
			}
			size := int(binary.LittleEndian.Uint32(data[end:]))
			if size < 5 || end+size > len(data) {
				return n, fmt.Errorf("%s: a document of %d bytes at %d", p.Path, size, end)
			}
			end += size
		}
		var r struct{ Documents int64 }
		if err := ac.json(ctx, http.MethodPost, q, bytes.NewReader(data[:end]), &r); err != nil {
			return n, err
		}
		n += r.Documents
		data = data[end:]
	}
	return n, nil
}

// backupVnode is a vnode directory of a backup.
type backupVnode struct {
	dir, tenant, db string
}

// backupVnodes lists the vnode directories below root (<tenant>/<db>/<bucket>/<rs>/<vnode>), of
// database db when set.
func backupVnodes(root, db string) ([]backupVnode, error) {
	var out []backupVnode
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() || path == root {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) == 2 && db != "" && parts[1] != db {
			return filepath.SkipDir
		}
		if len(parts) == 5 {
			out = append(out, backupVnode{dir: path, tenant: parts[0], db: parts[1]})
			return filepath.SkipDir
		}
		return nil
	})
	return out, err
}

// restoreVnode opens a copy of a backed-up vnode (TSM files linked, the rest copied) as the
// vnode it was, reads every series of the tables restored and writes them to the node in
// batches of about batchPoints points.
func restoreVnode(ctx context.Context, ac *adminClient, v backupVnode, db string, tables map[string]string, batchPoints int, progress func(int)) (int64, error) {
	tmp, err := os.MkdirTemp("", "chronogo-restore-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	err = filepath.WalkDir(v.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(v.dir, path)
		to := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if strings.HasSuffix(path, layout.TSMExt) || strings.HasSuffix(path, layout.DeltaExt) {
			return linkOrCopyFile(path, to)
		}
		return copyFile(path, to)
	})
	if err != nil {
		return 0, err
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	vn, err := engine.Open(tmp, engine.Options{Sync: wal.SyncNever, Logger: log})
	if err != nil {
		return 0, err
	}
	defer vn.Close()
	snap := vn.Snapshot()
	defer snap.Release()
	var total int64
	for _, table := range snap.Tables() {
		coll, ok := tables[v.tenant+"/"+v.db+"/"+table]
		if !ok {
			continue // dropped after the vnodes were copied, or not restored
		}
		batch := &storage.Batch{}
		points := 0
		send := func() error {
			if len(batch.Series) == 0 {
				return nil
			}
			if err := postBatch(ctx, ac, v.tenant, db, coll, batch); err != nil {
				return err
			}
			progress(points)
			total += int64(points)
			batch, points = &storage.Batch{}, 0
			return nil
		}
		var keyBuf []byte
		err := snap.Scan(engine.ScanQuery{Table: table, MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(col *engine.ScanColumn) error {
			key, ok := snap.SeriesKey(col.Series)
			if !ok {
				return fmt.Errorf("series %d has no key", col.Series)
			}
			key.Table = coll // the restoring node puts it in the collection's table
			keyBuf = key.Marshal(keyBuf[:0])
			p := col.Points
			vals := storage.Values{Type: p.Values.Type, Floats: append([]float64(nil), p.Values.Floats...), Ints: append([]int64(nil), p.Values.Ints...),
				Bools: append([]bool(nil), p.Values.Bools...), Bytes: cloneBytes(p.Values.Bytes)}
			batch.Series = append(batch.Series, storage.SeriesRows{Key: append([]byte(nil), keyBuf...), Times: append([]int64(nil), p.Times...),
				Fields: []storage.FieldColumn{{Name: col.Field, Values: vals}}})
			if points += p.Len(); points >= batchPoints {
				return send()
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if err := send(); err != nil {
			return total, err
		}
	}
	return total, nil
}

func cloneBytes(in [][]byte) [][]byte {
	if in == nil {
		return nil
	}
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

// postBatch writes a batch through the node, waiting while it is busy (503).
func postBatch(ctx context.Context, ac *adminClient, tenant, db, coll string, b *storage.Batch) error {
	body := storage.AppendBatch(nil, b)
	q := "/api/v1/restore/batch?tenant=" + url.QueryEscape(tenant) + "&db=" + url.QueryEscape(db) + "&coll=" + url.QueryEscape(coll)
	for attempt := 0; ; attempt++ {
		resp, err := ac.do(ctx, http.MethodPost, q, bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if !strings.Contains(err.Error(), "HTTP 503") || attempt >= 60 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
