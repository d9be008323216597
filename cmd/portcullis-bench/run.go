package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-idp/portcullis/internal/bench"
)

// run executes the harness; Ctrl-C stops the load and kills the server.
func run(opts bench.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := bench.Run(ctx, opts, os.Stdout)
	return err
}
