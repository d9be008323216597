// Command portcullis is the Portcullis identity provider and its operator CLI.
package main

import (
	"os"

	"github.com/portcullis-idp/portcullis/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
