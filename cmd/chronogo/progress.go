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
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString("docs"))
	}
	return progressbar.NewOptions64(total, opts...)
}
