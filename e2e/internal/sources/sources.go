// Package sources makes `go test` rerun the end-to-end suites when the
// moat binary they run would change.
//
// The suites build cmd/moat and run it as a child process; they do not
// import it, and `go test` keys a cached result on the packages a test
// binary imports and on the files its tests opened (once m.Run started,
// so not in TestMain). A suite that opens every file the binary is built
// from, during a test, is therefore rerun after a change to any of them.
package sources

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

var once struct {
	sync.Once
	err error
}

// Open opens (and closes) every non-test file under cmd and internal and
// go.mod and go.sum, once per process; root is the module's directory
// relative to the test's working directory (e.g. "..").
func Open(root string) error {
	once.Do(func() { once.err = open(root) })
	return once.err
}

func open(root string) error {
	for _, p := range []string{"cmd", "internal", "go.mod", "go.sum"} {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			return f.Close()
		})
		if err != nil {
			return fmt.Errorf("the sources of moat: %w", err)
		}
	}
	return nil
}
