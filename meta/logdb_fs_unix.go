package meta

import (
	"os"
	"syscall"
)

// allocated returns the bytes of disk a file holds (its blocks, not its size).
func allocated(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512, nil
	}
	return fi.Size(), nil
}
