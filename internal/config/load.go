package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable Load reads.
const EnvPrefix = "PORTCULLIS_"

// LoadOptions names the sources Load reads, lowest precedence first.
type LoadOptions struct {
	File  string         // YAML file path, "" = none
	Env   []string       // environment as "K=V" (os.Environ()); only PORTCULLIS_ vars are read
	Flags *pflag.FlagSet // may be nil; only flags that were explicitly set (Changed) override
}

// KeyError reports a key that is unknown or whose value has the wrong type,
// together with the source that set it, so the operator knows which layer
// to fix.
type KeyError struct {
	Key     string // dotted key path
	Source  string // e.g. `config file "/etc/portcullis.yaml"`, `environment variable PORTCULLIS_LISTEN`, `flag --listen`
	Unknown bool   // the key does not exist
	Err     error  // why the value was rejected; nil when Unknown
}

func (e *KeyError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("unknown key %q in %s", e.Key, e.Source)
	}
	return fmt.Sprintf("invalid value for key %q in %s: %v", e.Key, e.Source, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// Load builds the configuration from defaults, then opts.File, then opts.Env,
// then the changed flags in opts.Flags, and validates the result.
//
// Unknown keys, wrong types and an unreadable file are reported as errors
// (all *KeyError problems of a layer are joined) and the zero Config is
// returned. If everything decodes but Validate fails, the decoded Config is
// returned together with the *ValidationError, so callers may still show it.
func Load(opts LoadOptions) (Config, error) {
	k := koanf.New(".")
	if opts.File != "" {
		if err := loadFile(k, opts.File); err != nil {
			return Config{}, err
		}
	}
	if err := loadEnv(k, opts.Env); err != nil {
		return Config{}, err
	}
	if opts.Flags != nil {
		if err := loadFlags(k, opts.Flags); err != nil {
			return Config{}, err
		}
	}
	cfg, err := decode(k)
	if err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

func loadFile(k *koanf.Koanf, path string) error {
	fk := koanf.New(".")
	// The file provider returns the bare os error; wrap it so the message
	// names the flag's value and errors.Is(err, fs.ErrNotExist) still works.
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		return fmt.Errorf("reading config file %q: %w", path, err)
	}
	src := fmt.Sprintf("config file %q", path)
	var errs []error
	flat := make(map[string]any)
	walkFile(fk.Raw(), "", src, flat, &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return setAll(k, flat)
}

// walkFile checks a parsed YAML mapping against the schema and collects the
// coerced leaf values into out under their dotted keys.
func walkFile(m map[string]any, prefix, src string, out map[string]any, errs *[]error) {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if f, ok := leaves[key]; ok {
			if v == nil {
				continue // null means "not set", keeping the lower layer
			}
			cv, err := coerce(f.typ, v)
			if err != nil {
				*errs = append(*errs, &KeyError{Key: key, Source: src, Err: err})
				continue
			}
			out[key] = cv
			continue
		}
		if !sections[key] {
			*errs = append(*errs, &KeyError{Key: key, Source: src, Unknown: true})
			continue
		}
		switch sub := v.(type) {
		case nil:
		case map[string]any:
			walkFile(sub, key, src, out, errs)
		default:
			*errs = append(*errs, &KeyError{Key: key, Source: src,
				Err: fmt.Errorf("expected a mapping of settings, got %s", describe(v))})
		}
	}
}

func loadEnv(k *koanf.Koanf, environ []string) error {
	var errs []error
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			key, v, err := envValue(name, value)
			if err != nil {
				errs = append(errs, err)
				return "", nil
			}
			return key, v
		},
	})
	if err := k.Load(p, nil); err != nil {
		return fmt.Errorf("reading environment: %w", err)
	}
	if len(errs) > 0 {
		// The environment's order is arbitrary; sort for stable messages.
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return errors.Join(errs...)
	}
	return nil
}

// envValue maps one PORTCULLIS_ variable to its key and coerced value.
func envValue(name, value string) (string, any, error) {
	src := "environment variable " + name
	rest := strings.TrimPrefix(name, EnvPrefix)
	// A literal "." would otherwise be taken as a nesting separator and let
	// a malformed name alias a real key.
	if strings.Contains(rest, ".") || rest == "" {
		return "", nil, &KeyError{Key: strings.ToLower(rest), Source: src, Unknown: true}
	}
	key := strings.ReplaceAll(strings.ToLower(rest), "__", ".")
	f, ok := leaves[key]
	if !ok {
		if sections[key] {
			return "", nil, &KeyError{Key: key, Source: src,
				Err: fmt.Errorf("names a section, set its keys individually, e.g. %s", EnvVar(key)+"__...")}
		}
		return "", nil, &KeyError{Key: key, Source: src, Unknown: true}
	}
	v, err := coerce(f.typ, value)
	if err != nil {
		return "", nil, &KeyError{Key: key, Source: src, Err: err}
	}
	return key, v, nil
}

func loadFlags(k *koanf.Koanf, fs *pflag.FlagSet) error {
	var errs []error
	p := posflag.ProviderWithFlag(fs, ".", nil, func(f *pflag.Flag) (string, any) {
		if !f.Changed {
			return "", nil
		}
		key, v, err := flagValue(fs, f)
		if err != nil {
			errs = append(errs, err)
			return "", nil
		}
		return key, v
	})
	if err := k.Load(p, nil); err != nil {
		return fmt.Errorf("reading flags: %w", err)
	}
	return errors.Join(errs...)
}

// flagValue maps a changed flag to its key and coerced value. The key comes
// from the FlagKeyAnnotation if present, else from the flag name with "-"
// read as "_". Flags that map to no key (--config, --help, ...) are skipped
// with an empty key: the flag set is shared with the rest of the CLI.
func flagValue(fs *pflag.FlagSet, f *pflag.Flag) (string, any, error) {
	src := "flag --" + f.Name
	key := strings.ReplaceAll(f.Name, "-", "_")
	annotated := false
	if a := f.Annotations[FlagKeyAnnotation]; len(a) == 1 {
		key, annotated = a[0], true
	}
	fld, ok := leaves[key]
	if !ok {
		if annotated {
			return "", nil, &KeyError{Key: key, Source: src, Unknown: true}
		}
		return "", nil, nil
	}
	v, err := coerce(fld.typ, posflag.FlagVal(fs, f))
	if err != nil {
		return "", nil, &KeyError{Key: key, Source: src, Err: err}
	}
	return key, v, nil
}

func setAll(k *koanf.Koanf, flat map[string]any) error {
	for key, v := range flat {
		if err := k.Set(key, v); err != nil {
			return fmt.Errorf("setting %q: %w", key, err)
		}
	}
	return nil
}

// decode applies the merged layers on top of Defaults. Every value was
// already coerced to its field's exact type, so assignment cannot fail on
// type; the checks below guard against a schema/struct mismatch.
func decode(k *koanf.Koanf) (Config, error) {
	cfg := Defaults()
	rv := reflect.ValueOf(&cfg).Elem()
	for key, v := range k.All() {
		f, ok := leaves[key]
		if !ok {
			return Config{}, fmt.Errorf("decoding configuration: unknown key %q", key)
		}
		dst := rv.FieldByIndex(f.index)
		if v == nil {
			dst.SetZero()
			continue
		}
		val := reflect.ValueOf(v)
		if val.Type() != f.typ {
			return Config{}, fmt.Errorf("decoding configuration: key %q holds %s, want %s", key, val.Type(), f.typ)
		}
		dst.Set(val)
	}
	return cfg, nil
}
