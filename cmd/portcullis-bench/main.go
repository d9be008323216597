// Command portcullis-bench builds and starts a real Portcullis server on
// loopback and measures it from this process; see docs/performance.md.
package main

import (
	"fmt"
	"os"

	"github.com/portcullis-idp/portcullis/internal/bench"
)

func main() {
	opts, err := bench.ParseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-bench:", err)
		os.Exit(1)
	}
}
