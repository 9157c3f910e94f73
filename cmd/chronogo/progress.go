package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress is the progress bar of long CLI work on w (stderr): done and total units (bytes
// or documents; total -1 when unknown), rate and ETA, redrawn at most ten times a second; quiet
// hides it.
func newProgress(w io.Writer, total int64, what string, bytes, quiet bool) *progressbar.ProgressBar {
	unit := "docs"
	if bytes {
		unit = ""
	}
	return newProgressOf(w, total, what, unit, quiet)
}

// newProgressOf is newProgress counting units named unit ("": bytes).
func newProgressOf(w io.Writer, total int64, what, unit string, quiet bool) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetVisibility(!quiet),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
	}
	if unit == "" {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString(unit))
	}
	return progressbar.NewOptions64(total, opts...)
}
