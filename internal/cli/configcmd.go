package cli

import (
	"io"

	"github.com/portcullis-idp/portcullis/internal/config"
)

func writeDefaults(w io.Writer) error { return config.WriteYAML(w, config.Defaults()) }
