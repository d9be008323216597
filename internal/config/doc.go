// Package config defines Portcullis' runtime configuration and loads it from
// layered sources.
//
// # Precedence
//
// Each layer overrides only the keys it actually sets, from lowest to highest:
//
//  1. built-in defaults (see Defaults),
//  2. the YAML file named by --config (LoadOptions.File),
//  3. environment variables starting with PORTCULLIS_,
//  4. command-line flags that were explicitly given on the command line.
//
// The order follows the usual "the more specific and short-lived the source,
// the more it wins" rule: a file is shared by every run, the environment is
// per service manager unit or container, and a flag is per invocation. Flags
// that were registered but not passed never override anything, so a flag's
// default value cannot silently undo a file or environment setting.
//
// # Keys
//
// Every setting has a dotted key path made of snake_case names, e.g. listen,
// data_dir or passwords.argon2.memory_kib. The same names are used in the YAML
// file (as nested mappings), in validation errors (Problem.Key) and, after
// translation, in the environment.
//
// # Environment variables
//
// A key maps to a variable by prefixing PORTCULLIS_, upper-casing it and
// joining nesting levels with a double underscore "__". A single underscore
// stays part of a key name, because names such as data_dir already contain one:
//
//	PORTCULLIS_DATA_DIR                       -> data_dir
//	PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB  -> passwords.argon2.memory_kib
//	PORTCULLIS_TOKENS__ACCESS_TOKEN_LIFETIME  -> tokens.access_token_lifetime
//
// List values (only trusted_proxies) are comma-separated:
// PORTCULLIS_TRUSTED_PROXIES=10.0.0.0/8,192.0.2.7. An empty value clears the
// list. Any other PORTCULLIS_ variable that does not name a known key is an
// error rather than being ignored, because a typo would otherwise leave a
// security-relevant setting at its default without anyone noticing.
//
// # Values
//
// Durations use Go syntax ("90s", "1h", "2160h"). Integers may be given as YAML
// numbers or as decimal strings. In the file, a key set to null counts as not
// set. Unknown keys and values of the wrong type are errors that name the key
// and the source (file, variable or flag) they came from.
//
// After the layers are merged, Config.Validate checks the result and reports
// every problem at once, so an operator can fix a configuration in one pass.
package config
