// Package vfs is the file interface storage's writers open files through, with a fault injector
// for tests: ENOSPC, EIO and short writes at chosen calls, without root or a real full disk.
package vfs
