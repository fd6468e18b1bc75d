//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package registryserver

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes the exclusive flock(2) that bbolt takes on its file, retrying
// for storeLockTimeout; bbolt's own lock on the same open file then succeeds
// at once. It returns errStoreLocked when another process holds it.
func lockFile(f *os.File) error {
	deadline := time.Now().Add(storeLockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errStoreLocked
		}
		time.Sleep(50 * time.Millisecond)
	}
}
