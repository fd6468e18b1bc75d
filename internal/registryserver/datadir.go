package registryserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// The data directory holds two files that only make sense together:
// registry.db (every record, badges included) and ca.jwk (the key that signed
// those badges). The registry refuses to start when they say something was
// lost, before it opens or writes anything there:
//
//   - ca.jwk without registry.db, or an empty registry.db: the store was lost
//     or truncated (a new store would silently forget every server and key);
//   - registry.db with badges and no ca.jwk: the CA key was lost (a new one
//     would silently invalidate every badge; `capiscio-registry ca init` mints
//     one on purpose);
//   - ca.jwk that group or others may read or write;
//   - registry.db that fails its checks (openStore).

// openDataDir checks the data directory and opens its store, checked but not
// migrated, so that a refusal leaves every file in it as it was.
func openDataDir(dir string) (*store, error) {
	storeExists, err := checkDataDir(dir)
	if err != nil {
		return nil, err
	}
	return openStore(filepath.Join(dir, dbFile), !storeExists)
}

// checkDataDir applies the rules above that need no store, and reports
// whether registry.db exists.
func checkDataDir(dir string) (storeExists bool, err error) {
	dbPath, caPath := filepath.Join(dir, dbFile), filepath.Join(dir, caKeyFile)
	if storeExists, err = fileExists(dbPath); err != nil {
		return false, err
	}
	caExists, err := fileExists(caPath)
	switch {
	case err != nil:
		return false, err
	case caExists && !storeExists:
		return false, fmt.Errorf("%s is missing but %s exists: the store was lost; %s", dbPath, caPath, storeAdvice)
	case caExists:
		return storeExists, checkCAFileMode(caPath)
	}
	return storeExists, nil
}

func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("reading the data directory: %w", err)
	}
}

// checkCAFileMode refuses a CA key that group or others may read or write:
// whoever reads it can sign badges in this registry's name.
func checkCAFileMode(path string) error {
	if runtime.GOOS == "windows" {
		return nil // no POSIX permission bits to check
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading the CA key %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the CA key %s is readable or writable by group or others (mode %04o), and whoever reads it can sign badges: run chmod 600 %s", path, perm, path)
	}
	return nil
}
