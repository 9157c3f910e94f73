package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// batch is a run of whole lines of the data file, each ending in '\n'.
type batch struct {
	buf    []byte
	lines  int
	values int // field values in the lines
}

// batchReader cuts a line-protocol stream into batches of at most n lines; blank lines and
// comments are skipped.
type batchReader struct {
	r *bufio.Reader
	n int
}

func newBatchReader(r io.Reader, n int) *batchReader {
	return &batchReader{r: bufio.NewReaderSize(r, 1<<20), n: n}
}

// next fills b with the next lines (reusing b.buf); io.EOF when there are none left.
func (br *batchReader) next(b *batch) error {
	b.buf, b.lines, b.values = b.buf[:0], 0, 0
	for b.lines < br.n {
		start := len(b.buf)
		var err error
		for {
			var chunk []byte
			chunk, err = br.r.ReadSlice('\n')
			b.buf = append(b.buf, chunk...)
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading data: %w", err)
		}
		line := bytes.TrimSpace(b.buf[start:])
		switch {
		case len(line) == 0 || line[0] == '#':
			b.buf = b.buf[:start]
		default:
			if b.buf[len(b.buf)-1] != '\n' {
				b.buf = append(b.buf, '\n')
			}
			b.lines++
			b.values += countValues(line)
		}
		if err != nil { // io.EOF
			if b.lines == 0 {
				return io.EOF
			}
			return nil
		}
	}
	return nil
}

// countValues counts the fields of a line: the commas between the first and the last space, plus
// one (a line without a timestamp has its fields after the last space). Commas inside quoted
// string fields are counted too; the cpu-only data set has none.
func countValues(line []byte) int {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return 0
	}
	j := bytes.LastIndexByte(line, ' ')
	if j == i {
		j = len(line)
	}
	return bytes.Count(line[i+1:j], []byte{','}) + 1
}

// pipeline reads batches of n lines from r and hands them to workers goroutines running fn;
// batch buffers are recycled. It stops at the first error.
func pipeline(ctx context.Context, r io.Reader, n, workers int, fn func(ctx context.Context, worker int, b *batch) error) (lines, values int64, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	free := make(chan *batch, 2*workers)
	for range cap(free) {
		free <- &batch{}
	}
	work := make(chan *batch)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := fn(ctx, w, b); err != nil {
					cancel(err)
				}
				free <- b
			}
		}()
	}
	br := newBatchReader(r, n)
	var readErr error
loop:
	for {
		var b *batch
		select {
		case b = <-free:
		case <-ctx.Done():
			break loop
		}
		if err := br.next(b); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		lines += int64(b.lines)
		values += int64(b.values)
		select {
		case work <- b:
		case <-ctx.Done():
			break loop
		}
	}
	close(work)
	wg.Wait()
	if readErr != nil {
		return lines, values, readErr
	}
	if err := context.Cause(ctx); err != nil {
		return lines, values, err
	}
	return lines, values, nil
}
