package config

import "github.com/spf13/pflag"

// FlagKeyAnnotation, set on a pflag.Flag with a single value, names the
// config key the flag overrides. Without it Load derives the key from the
// flag name ("data-dir" -> "data_dir", "passwords.argon2.memory-kib" ->
// "passwords.argon2.memory_kib"), which lets callers bind further flags
// without touching this package.
const FlagKeyAnnotation = "portcullis_config_key"

// RegisterFlags adds the configuration flags to fs. Their defaults are shown
// in help output only: Load applies a flag solely when it was set on the
// command line, so an unset flag never overrides the file or environment.
func RegisterFlags(fs *pflag.FlagSet) {
	d := Defaults()
	flags := []struct {
		name, key, usage string
		slice            bool
		def              string
	}{
		{"listen", "listen", "address to listen on, host:port", false, d.Listen},
		{"data-dir", "data_dir", "directory for the database and keys", false, d.DataDir},
		{"public-url", "public_url", "external base URL (issuer); empty derives it from --listen", false, d.PublicURL},
		{"trusted-proxies", "trusted_proxies", "comma-separated IPs or CIDRs of reverse proxies whose forwarding headers are trusted", true, ""},
	}
	for _, f := range flags {
		usage := f.usage + " (env " + EnvVar(f.key) + ")"
		if f.slice {
			fs.StringSlice(f.name, nil, usage)
		} else {
			fs.String(f.name, f.def, usage)
		}
		// Cannot fail: the flag was defined just above.
		_ = fs.SetAnnotation(f.name, FlagKeyAnnotation, []string{f.key})
	}
}
