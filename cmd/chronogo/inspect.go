package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/recordfile"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
	"github.com/chronogo/chronogo/storage/wal"
)

// inspectCommand reads storage files offline with the storage packages' own decoders.
func inspectCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "inspect", Short: "Read data files offline: dump TSM, WAL and summary files, verify checksums",
		Long: "Read data files offline with the storage packages' own decoders. Times print as RFC 3339 (UTC), types by\n" +
			"their BSON names and series as line protocol writes them (cpu,host=a); --raw prints nanoseconds, hex type codes\n" +
			"and series ids instead.",
		Example: "  chronogo inspect dumptsm data/default/demo/1/2/3/tsm/000004.tsm\n  chronogo inspect dumpsummary --raw data/default/demo/1/2/3/summary\n  chronogo inspect verify ./data"}
	var indexOnly, raw bool
	cmd.PersistentFlags().BoolVar(&raw, "raw", false, "print times in ns, types as hex codes and series by id")
	dumptsm := &cobra.Command{
		Use: "dumptsm FILE", Short: "Print a TSM (.tsm or .delta) file: index, block metas and every point",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := expectKind(args[0], kindTSM); err != nil {
				return err
			}
			r, err := tsm.Open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			return r.DumpWith(c.OutOrStdout(), tsm.DumpOptions{Points: !indexOnly, Raw: raw})
		},
	}
	dumptsm.Flags().BoolVar(&indexOnly, "index-only", false, "print the index only, do not read blocks")
	cmd.AddCommand(dumptsm,
		&cobra.Command{
			Use: "dumpwal FILE...", Short: "Print the records of WAL segments: seq, offset and the batch they hold",
			Args: cobra.MinimumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				for _, path := range args {
					if err := expectKind(path, kindWAL); err != nil {
						return err
					}
					if err := dumpWAL(c.OutOrStdout(), path, timeFormat(raw)); err != nil {
						return err
					}
				}
				return nil
			},
		},
		&cobra.Command{
			Use: "dumpsummary FILE", Short: "Print the version edits of a vnode's summary file",
			Args: cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				if err := expectKind(args[0], kindSummary); err != nil {
					return err
				}
				return dumpSummary(c.OutOrStdout(), args[0], timeFormat(raw))
			},
		},
		&cobra.Command{
			Use: "reportdisk DIR", Short: "Where a data directory's bytes go: files by kind, and TSM bytes by column (values, timestamps, versions, index) per point",
			Example: "  chronogo inspect reportdisk ./data\n  chronogo inspect reportdisk data/default/demo/1/2/3",
			Args:    cobra.ExactArgs(1),
			RunE:    func(c *cobra.Command, args []string) error { return reportDisk(c.OutOrStdout(), args[0]) },
		},
		&cobra.Command{
			Use: "verify DIR", Short: "Check the checksums of every TSM, WAL and summary file under DIR (a data or vnode directory)",
			Args: cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error { return verifyTree(c.OutOrStdout(), args[0]) },
		})
	return cmd
}

// timeFormat prints ns timestamps: as they are with raw, else as RFC 3339 in UTC.
func timeFormat(raw bool) func(int64) string {
	if raw {
		return func(ns int64) string { return strconv.FormatInt(ns, 10) }
	}
	return func(ns int64) string {
		switch ns {
		case math.MinInt64:
			return "-inf"
		case math.MaxInt64:
			return "+inf"
		}
		return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	}
}

func dumpWAL(w io.Writer, path string, ts func(int64) string) error {
	fmt.Fprintf(w, "%s\n", path)
	end, err := wal.ReadSegment(path, func(off int64, seq uint64, data []byte) error {
		b, err := storage.DecodeBatch(data)
		if err != nil {
			fmt.Fprintf(w, "  offset %d seq %d: %d bytes, undecodable batch: %v\n", off, seq, len(data), err)
			return nil
		}
		lo, hi := b.MinMaxTime()
		fmt.Fprintf(w, "  offset %d seq %d version %d: %d series, %d values, time [%s, %s]\n",
			off, seq, b.Version, len(b.Series), b.NumValues(), ts(lo), ts(hi))
		return nil
	})
	if err != nil {
		var torn *recordfile.TornTailError
		if errors.As(err, &torn) {
			fmt.Fprintf(w, "  torn tail at offset %d (%d bytes after it); recovery truncates it\n", torn.Offset, torn.Size-torn.Offset)
			return nil
		}
		return fmt.Errorf("read wal %s: %w", path, err)
	}
	fmt.Fprintf(w, "  end at offset %d\n", end)
	return nil
}

func dumpSummary(w io.Writer, path string, ts func(int64) string) error {
	st := summary.NewState()
	_, err := recordfile.Scan(path, summary.Magic, func(off int64, payload []byte) error {
		e, err := summary.UnmarshalVersionEdit(payload)
		if err != nil {
			return &storage.CorruptionError{Path: path, Offset: off, Err: err}
		}
		fmt.Fprintf(w, "offset %d: +%d files -%d files flushed_seq=%d next_file=%d max_seq=%d +%d tombstones -%d tombstones",
			off, len(e.AddFiles), len(e.DelFiles), e.FlushedSeq, e.NextFileID, e.MaxSeq, len(e.AddTombstones), len(e.DelTombstones))
		if e.ExpiredBefore != 0 {
			fmt.Fprintf(w, " expired_before=%s", ts(e.ExpiredBefore))
		}
		fmt.Fprintln(w)
		for _, f := range e.AddFiles {
			fmt.Fprintf(w, "  + file %d level %d size %d time [%s, %s] seq [%d, %d]\n", f.ID, f.Level, f.Size, ts(f.MinTime), ts(f.MaxTime), f.MinSeq, f.MaxSeq)
		}
		for _, t := range e.AddTombstones {
			fmt.Fprintf(w, "  + tombstone %d: %d series, time [%s, %s], version %d seq %d", t.ID, len(t.Series), ts(t.MinTime), ts(t.MaxTime), t.Version, t.Seq)
			if t.IsRename() {
				fmt.Fprintf(w, ", renamed to %s", storage.DisplayKey(t.Target))
			}
			fmt.Fprintln(w)
		}
		return st.Apply(e)
	})
	var torn *recordfile.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return fmt.Errorf("read summary: %w", err)
	}
	if torn != nil {
		// Unlike a WAL's, a summary's last record is fsynced before anything depends on it: the
		// server cannot tell a crash from damage, adopts every TSM file the summary does not list
		// and logs it. Report it as damage.
		fmt.Fprintf(w, "state: %d files, flushed_seq=%d, max_seq=%d, %d tombstones\n", len(st.Files), st.FlushedSeq, st.MaxSeq, len(st.Tombstones))
		return fmt.Errorf("read summary: %w (the last edit is lost; the server adopts the TSM files the summary does not list)", torn)
	}
	fmt.Fprintf(w, "state: %d files, flushed_seq=%d, max_seq=%d, %d tombstones\n", len(st.Files), st.FlushedSeq, st.MaxSeq, len(st.Tombstones))
	return nil
}

// verifyTree checks every file it knows under dir and fails with the first damaged file's path and
// offset after reporting all of them.
func verifyTree(w io.Writer, dir string) error {
	var bad []string
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		verr, checked, skip := verifyEntry(path, d)
		if checked {
			files++
			if verr != nil {
				bad = append(bad, verr.Error())
				fmt.Fprintf(w, "BAD %s: %v\n", path, verr)
			}
		}
		if skip {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d files damaged; first: %s", len(bad), files, bad[0])
	}
	fmt.Fprintf(w, "%d files verified, no damage\n", files)
	return nil
}

// verifyEntry checks one entry of a data directory: checked says whether it is one verify knows
// (a TSM, WAL or summary file, a series index directory, or something the server set aside), and
// skip whether to leave the directory's contents out.
func verifyEntry(path string, d fs.DirEntry) (verr error, checked, skip bool) {
	name := d.Name()
	if d.IsDir() {
		switch {
		case name == layout.IndexDir:
			return index.Verify(path), true, false
		case strings.HasPrefix(name, layout.IndexDir+".bad."):
			return fmt.Errorf("series index set aside by the server after damage was found, and rebuilt (see its log)"), true, true
		}
		return nil, false, false
	}
	switch {
	case strings.HasSuffix(name, layout.TSMExt) || strings.HasSuffix(name, layout.DeltaExt):
		r, err := tsm.Open(path)
		if err == nil {
			err = r.Verify()
			r.Close()
		}
		return err, true, false
	case strings.HasSuffix(name, wal.SegmentExt):
		_, err := wal.ReadSegment(path, func(int64, uint64, []byte) error { return nil })
		var torn *recordfile.TornTailError
		if errors.As(err, &torn) {
			err = nil // a crash's torn tail, repaired on open
		}
		return err, true, false
	case name == layout.SummaryFile:
		return dumpSummary(io.Discard, path, timeFormat(true)), true, false
	case strings.HasSuffix(name, layout.BadExt) || strings.HasPrefix(name, layout.SummaryFile+".bad."):
		return fmt.Errorf("quarantined by the server after damage was found (see its log)"), true, false
	}
	return nil, false, false
}
