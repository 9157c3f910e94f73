package main

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/tsm"
)

// diskReport is where a data directory's bytes go: every file by kind, and the TSM and delta
// files' bytes split by what they store (tsm.Usage).
type diskReport struct {
	files, bytes map[string]int64
	tsm          tsm.Usage
}

// diskKinds are the report's rows in print order.
var diskKinds = []string{"tsm", "delta", "wal", "series index", "summary", "hint queues", "meta (raft)", "other"}

// diskKindOf classifies a file by its place under the directory being reported. The node's own
// directories (handoff, meta) count only at the top of a server's data directory, where they are,
// not as a database or tenant of that name under data/.
func diskKindOf(rel string) string {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	dirs, base := parts[:len(parts)-1], parts[len(parts)-1]
	has := func(dir string) bool {
		for _, p := range dirs {
			if p == dir {
				return true
			}
		}
		return false
	}
	top := ""
	if len(dirs) > 0 {
		top = dirs[0]
	}
	switch {
	case top == "handoff":
		return "hint queues"
	case top == "meta":
		return "meta (raft)"
	case strings.HasSuffix(base, layout.TSMExt) && has(layout.TSMDir):
		return "tsm"
	case strings.HasSuffix(base, layout.DeltaExt) && has(layout.DeltaDir):
		return "delta"
	case has(layout.WALDir):
		return "wal"
	case has(layout.IndexDir):
		return "series index"
	case base == layout.SummaryFile:
		return "summary"
	}
	return "other"
}

// reportDisk walks dir (a data directory, or any directory under one) and prints the report.
func reportDisk(w io.Writer, dir string) error {
	r := diskReport{files: map[string]int64{}, bytes: map[string]int64{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		k := diskKindOf(rel)
		r.files[k]++
		r.bytes[k] += info.Size()
		if k == "tsm" || k == "delta" {
			f, err := tsm.Open(path)
			if err != nil {
				return err
			}
			u, err := f.Usage()
			_ = f.Close()
			if err != nil {
				return err
			}
			r.tsm.Add(u)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reportdisk %s: %w", dir, err)
	}
	var total int64
	for _, b := range r.bytes {
		total += b
	}
	pts := r.tsm.Points
	per := func(b int64) string {
		if pts == 0 {
			return "-"
		}
		return fmt.Sprintf("%.4f", float64(b)/float64(pts))
	}
	fmt.Fprintf(w, "%s: %s in files, %s points in TSM and delta files (B/point: bytes per point stored)\n",
		dir, humanize.IBytes(uint64(total)), humanize.Comma(pts))
	fmt.Fprintf(w, "%-22s %7s %14s %9s\n", "kind", "files", "bytes", "B/point")
	for _, k := range diskKinds {
		if r.files[k] == 0 {
			continue
		}
		fmt.Fprintf(w, "%-22s %7d %14d %9s\n", k, r.files[k], r.bytes[k], per(r.bytes[k]))
		if k == "delta" || (k == "tsm" && r.files["delta"] == 0) {
			for _, p := range []struct {
				name string
				b    int64
			}{{"  values", r.tsm.Values}, {"  timestamps", r.tsm.Times}, {"  versions and seqs", r.tsm.Versions}, {"  hour sums", r.tsm.HourSums},
				{"  block headers, CRCs", r.tsm.BlockOverhead}, {"  index, bloom, footer", r.tsm.Index}} {
				fmt.Fprintf(w, "%-22s %7s %14d %9s\n", p.name, "", p.b, per(p.b))
			}
			fmt.Fprintf(w, "  (tsm and delta files: %s blocks)\n", humanize.Comma(r.tsm.Blocks))
		}
	}
	fmt.Fprintf(w, "%-22s %7s %14d %9s\n", "total", "", total, per(total))
	return nil
}
