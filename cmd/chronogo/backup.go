package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/wire/httpapi"
)

// manifestName is the file that makes a backup directory a complete backup (BACKUP.md).
const manifestName = "manifest.json"

// Manifest lists a backup's files with their checksums.
type Manifest struct {
	Version  int            `json:"version"`
	ID       string         `json:"id"`
	Created  string         `json:"created"`
	Node     uint64         `json:"node"`
	Nodes    []uint64       `json:"nodes,omitempty"` // a cluster backup: the nodes its vnodes came from
	Tenant   string         `json:"tenant,omitempty"`
	DB       string         `json:"db,omitempty"`
	Previous string         `json:"previous,omitempty"` // the backup files were reused from
	Files    []ManifestFile `json:"files"`
}

// ManifestFile is one file of a backup.
type ManifestFile struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Immutable bool   `json:"immutable,omitempty"`
	Reused    bool   `json:"reused,omitempty"` // hard-linked from the previous backup
}

// adminClient calls a node's admin API.
type adminClient struct {
	base, user, password string
	hc                   *http.Client
}

func newAdminClient(addr, user, password string) *adminClient {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &adminClient{base: strings.TrimRight(base, "/"), user: user, password: password, hc: &http.Client{}}
}

// do sends a request and returns the response of a 2xx status; any other is an error with the
// node's message.
func (a *adminClient) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	if a.user != "" {
		req.SetBasicAuth(a.user, a.password)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct{ Error string }
		if json.Unmarshal(msg, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s %s: %s (HTTP %d)", method, path, e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// json sends a request and decodes its JSON answer into out.
func (a *adminClient) json(ctx context.Context, method, path string, body io.Reader, out any) error {
	resp, err := a.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// backupCommand makes online backups of a node and checks them.
func backupCommand() *cobra.Command {
	var addr, user, password, to, tenant, db string
	var quiet, nodeOnly bool
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up a running cluster or node online into DIR/<id>: its vnodes, catalog and plain collections, incrementally",
		Long: "In a cluster, takes one replica of every replica set (of --tenant/--db when set) from the data nodes that are up,\n" +
			"the node at --addr first; with --node-only, or on a standalone server, the vnodes of the node at --addr.\n" +
			"Asks each node (by its HTTP address) for a checkpoint: every vnode flushed and copied as it is (TSM files\n" +
			"hard-linked, summary, index and WAL copied), the catalog, users and plain collections beside them, while\n" +
			"writes go on. The files are downloaded into --to/<id> with a SHA-256 each in manifest.json; TSM files that\n" +
			"the latest backup in --to already holds (same path and size: TSM files never change) are hard-linked from it.\n" +
			"A backup without manifest.json is incomplete. The format is in cmd/chronogo/BACKUP.md.",
		Example: "  chronogo backup --to /backups/chronogo\n" +
			"  chronogo backup --addr 10.0.0.5:8080 --user admin --password secret --db metrics --to /backups/metrics\n" +
			"  chronogo backup verify /backups/chronogo/20261204-231500-1a2b3c4d",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := runBackup(c.Context(), newAdminClient(addr, user, password), to, tenant, db, nodeOnly, quiet, c.ErrOrStderr()); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8080", "the node's HTTP address")
	fl.StringVar(&user, "user", "", "a cluster administrator (with --auth)")
	fl.StringVar(&password, "password", "", "the administrator's password")
	fl.StringVar(&to, "to", "", "the directory of backups (required)")
	fl.StringVar(&tenant, "tenant", "", "only this tenant")
	fl.StringVar(&db, "db", "", "only this database")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	fl.BoolVar(&nodeOnly, "node-only", false, "back up only the node at --addr (in a cluster, the default takes one replica of every replica set from the data nodes)")
	_ = cmd.MarkFlagRequired("to")
	cmd.AddCommand(&cobra.Command{
		Use:     "verify DIR",
		Short:   "Check a backup without restoring it: every file's size and SHA-256, and the checksums inside TSM, WAL and summary files",
		Example: "  chronogo backup verify /backups/chronogo/20261204-231500-1a2b3c4d",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := verifyBackup(args[0], c.OutOrStdout()); err != nil {
				return fmt.Errorf("backup verify: %w", err)
			}
			return nil
		},
	})
	return cmd
}

func runBackup(ctx context.Context, ac *adminClient, to, tenant, db string, nodeOnly, quiet bool, stderr io.Writer) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	prev, prevDir, err := latestBackup(to)
	if err != nil {
		return err
	}
	parts, err := backupPlan(ctx, ac, tenant, db, nodeOnly)
	if err != nil {
		return err
	}
	// every part's checkpoint is taken before any file is downloaded, so the parts are as close
	// in time as the nodes allow; each is dropped from its node at the end
	infos := make([]httpapi.BackupInfo, len(parts))
	for i, p := range parts {
		if err := p.ac.json(ctx, http.MethodPost, "/api/v1/backup?"+p.query(tenant, db), nil, &infos[i]); err != nil {
			return fmt.Errorf("node %s: %w", p.ac.base, err)
		}
		defer func(p backupPart, id string) {
			_, _ = p.ac.do(context.Background(), http.MethodDelete, "/api/v1/backup/"+id, nil)
		}(p, infos[i].ID)
	}
	info := infos[0]
	dest := filepath.Join(to, info.ID)
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	m := Manifest{Version: 1, ID: info.ID, Created: info.Created, Node: info.Node, Tenant: tenant, DB: db}
	if len(parts) > 1 {
		for _, in := range infos {
			m.Nodes = append(m.Nodes, in.Node)
		}
	}
	known := map[string]ManifestFile{}
	if prev != nil {
		m.Previous = prev.ID
		for _, f := range prev.Files {
			if f.Immutable {
				known[f.Path] = f
			}
		}
	}
	var total, reused int64
	for i, in := range infos {
		for _, f := range in.Files {
			if i == 0 || strings.HasPrefix(f.Path, "data/") {
				total += f.Size
			}
		}
	}
	bar := newProgress(stderr, total, "backup "+info.ID, true, quiet)
	for i, in := range infos {
		for _, f := range in.Files {
			if i > 0 && !strings.HasPrefix(f.Path, "data/") {
				continue // the catalog and the plain collections come from the first node
			}
			target, err := localPath(dest, f.Path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			mf := ManifestFile{Path: f.Path, Size: f.Size, Immutable: f.Immutable}
			if k, ok := known[f.Path]; ok && f.Immutable && k.Size == f.Size {
				src, _ := localPath(prevDir, f.Path)
				if err := linkOrCopyFile(src, target); err != nil {
					return err
				}
				mf.SHA256, mf.Reused = k.SHA256, true
				reused += f.Size
				_ = bar.Add64(f.Size)
			} else {
				sum, err := download(ctx, parts[i].ac, in.ID, f, target, func(n int) { _ = bar.Add(n) })
				if err != nil {
					return err
				}
				mf.SHA256 = sum
			}
			m.Files = append(m.Files, mf)
		}
	}
	_ = bar.Finish()
	if _, _, err := writeFileWith(filepath.Join(dest, manifestName+".tmp"), func(w io.Writer) (int64, error) {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return 0, enc.Encode(m)
	}); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dest, manifestName+".tmp"), filepath.Join(dest, manifestName)); err != nil {
		return err
	}
	if d, err := os.Open(dest); err == nil {
		_ = d.Sync()
		d.Close()
	}
	fmt.Fprintf(stderr, "backup %s: %d files, %d bytes (%d reused from %s) from %d nodes in %s\n", info.ID, len(m.Files), total, reused, dash(m.Previous), len(parts), dest)
	return nil
}

// localPath is rel (a slash path a node sent) below dir; a path leaving dir is an error.
func localPath(dir, rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if rel == "" || filepath.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("a file path %q outside the backup", rel)
	}
	return filepath.Join(dir, clean), nil
}

// latestBackup is the newest complete backup in dir (by id), or nil.
func latestBackup(dir string) (*Manifest, string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), manifestName)); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	if len(names) == 0 {
		return nil, "", nil
	}
	sort.Strings(names)
	d := filepath.Join(dir, names[len(names)-1])
	m, err := readManifest(d)
	return m, d, err
}

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("%s is not a complete backup: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("%s: manifest version %d", dir, m.Version)
	}
	return &m, nil
}

// download fetches one file of backup id into target, fsynced, and returns its SHA-256.
func download(ctx context.Context, ac *adminClient, id string, f httpapi.BackupFile, target string, progress func(int)) (string, error) {
	resp, err := ac.do(ctx, http.MethodGet, "/api/v1/backup/"+id+"/file?path="+url.QueryEscape(f.Path), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if _, err := out.Write(buf[:k]); err != nil {
				out.Close()
				return "", err
			}
			h.Write(buf[:k])
			n += int64(k)
			progress(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return "", fmt.Errorf("download %s: %w", f.Path, rerr)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	if n != f.Size {
		return "", fmt.Errorf("download %s: %d bytes, the node listed %d", f.Path, n, f.Size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopyFile hard-links src to dst, or copies it.
func linkOrCopyFile(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst)
}

// copyFile copies src to a new file dst, fsynced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// verifyBackup checks every file of a backup against its manifest, then the checksums inside
// its data files.
func verifyBackup(dir string, w io.Writer) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	for _, f := range m.Files {
		p, err := localPath(dir, f.Path)
		if err != nil {
			return err
		}
		file, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, file)
		file.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		if n != f.Size {
			return fmt.Errorf("%s: %d bytes, the manifest says %d", f.Path, n, f.Size)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
			return fmt.Errorf("%s: SHA-256 %s, the manifest says %s", f.Path, sum, f.SHA256)
		}
	}
	fmt.Fprintf(w, "%d files match the manifest\n", len(m.Files))
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		return verifyTree(w, filepath.Join(dir, "data"))
	}
	return nil
}
