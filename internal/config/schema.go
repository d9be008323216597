package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// field is one settable leaf of Config, addressed by its dotted key path.
type field struct {
	key   string
	typ   reflect.Type
	index []int // for reflect.Value.FieldByIndex
}

// The schema is derived from the struct tags rather than written out by hand
// so that adding a field to Config automatically makes it loadable from every
// source and recognised by the unknown-key check.
var (
	durationType = reflect.TypeFor[time.Duration]()
	fields       []field          // leaves in declaration order
	leaves       map[string]field // by key
	sections     map[string]bool  // keys of nested structs, e.g. "passwords.argon2"
)

func init() {
	leaves = make(map[string]field)
	sections = make(map[string]bool)
	collectFields(reflect.TypeFor[Config](), "", nil)
}

func collectFields(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("koanf")
		if name == "" {
			panic(fmt.Sprintf("config: field %s.%s has no koanf tag", t.Name(), sf.Name))
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		if sf.Type.Kind() == reflect.Struct {
			sections[key] = true
			collectFields(sf.Type, key, idx)
			continue
		}
		f := field{key: key, typ: sf.Type, index: idx}
		fields = append(fields, f)
		leaves[key] = f
	}
}

// Keys returns every configuration key path in declaration order.
func Keys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// EnvVar returns the environment variable that sets key, e.g.
// "passwords.argon2.memory_kib" -> "PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB".
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// coerce converts a raw value from YAML, the environment or a flag into
// exactly the Go type of the field, so that later decoding is a plain
// assignment and every type error can be reported with its key and source.
// Strings are parsed for every type because environment values are always
// strings.
func coerce(t reflect.Type, v any) (any, error) {
	switch {
	case t == durationType:
		return toDuration(v)
	case t.Kind() == reflect.String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected a string, got %s", describe(v))
		}
		return reflect.ValueOf(s).Convert(t).Interface(), nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return toStrings(v)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return toStructList(t, v)
	case t.Kind() == reflect.Bool:
		return toBool(v)
	case t.Kind() == reflect.Float64:
		return toFloat(v)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return toInt(t, v)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return toUint(t, v)
	}
	// Only reachable if Config gains a field type this file does not know.
	return nil, fmt.Errorf("unsupported setting type %s", t)
}

func toDuration(v any) (any, error) {
	switch v := v.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("expected a duration such as \"90s\" or \"1h\": %w", err)
		}
		return d, nil
	}
	// Bare numbers are rejected: "2" could mean seconds or nanoseconds.
	return nil, fmt.Errorf("expected a duration string such as \"90s\" or \"1h\", got %s", describe(v))
}

// toStrings accepts a list of strings or one comma-separated string. An empty
// list becomes nil so that "no entries" has a single representation.
func toStrings(v any) (any, error) {
	var out []string
	switch v := v.(type) {
	case string:
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	case []string:
		out = append(out, v...)
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("entry %d: expected a string, got %s", i, describe(e))
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("expected a list of strings, got %s", describe(v))
	}
	return out, nil
}

// toStructList decodes a YAML list of mappings (feeds, locations) strictly:
// an unknown key inside an entry is an error like anywhere else. Such lists
// can only come from the config file.
func toStructList(t reflect.Type, v any) (any, error) {
	if _, isString := v.(string); isString {
		return nil, errors.New("a list of entries can only be set in the config file")
	}
	raw, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("expected a list of entries: %w", err)
	}
	out := reflect.New(t)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(out.Interface()); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("expected a list of entries: %w", err)
	}
	if out.Elem().Len() == 0 {
		return reflect.Zero(t).Interface(), nil
	}
	return out.Elem().Interface(), nil
}

func toFloat(v any) (any, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("expected a number, got %q", v)
		}
		return f, nil
	}
	return nil, fmt.Errorf("expected a number, got %s", describe(v))
}

func toBool(v any) (any, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("expected true or false, got %q", v)
		}
		return b, nil
	}
	return nil, fmt.Errorf("expected true or false, got %s", describe(v))
}

var errNotInteger = errors.New("expected an integer")

func toInt(t reflect.Type, v any) (any, error) {
	var n int64
	rv := reflect.ValueOf(v)
	switch {
	case v == nil:
		return nil, fmt.Errorf("%w, got %s", errNotInteger, describe(v))
	case rv.CanInt():
		n = rv.Int()
	case rv.CanUint():
		if rv.Uint() > 1<<63-1 {
			return nil, fmt.Errorf("%d is out of range", rv.Uint())
		}
		n = int64(rv.Uint())
	case rv.Kind() == reflect.String:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(rv.String()), 10, 64); err != nil {
			return nil, fmt.Errorf("%w, got %s", errNotInteger, describe(v))
		}
	default:
		return nil, fmt.Errorf("%w, got %s", errNotInteger, describe(v))
	}
	out := reflect.New(t).Elem()
	if out.OverflowInt(n) {
		return nil, fmt.Errorf("%d is out of range", n)
	}
	out.SetInt(n)
	return out.Interface(), nil
}

func toUint(t reflect.Type, v any) (any, error) {
	var n uint64
	rv := reflect.ValueOf(v)
	switch {
	case v == nil:
		return nil, fmt.Errorf("expected a non-negative integer, got %s", describe(v))
	case rv.CanUint():
		n = rv.Uint()
	case rv.CanInt():
		if rv.Int() < 0 {
			return nil, fmt.Errorf("must not be negative, got %d", rv.Int())
		}
		n = uint64(rv.Int())
	case rv.Kind() == reflect.String:
		var err error
		if n, err = strconv.ParseUint(strings.TrimSpace(rv.String()), 10, 64); err != nil {
			return nil, fmt.Errorf("expected a non-negative integer, got %s", describe(v))
		}
	default:
		return nil, fmt.Errorf("expected a non-negative integer, got %s", describe(v))
	}
	out := reflect.New(t).Elem()
	if out.OverflowUint(n) {
		return nil, fmt.Errorf("%d is out of range (maximum %d)", n, uint64(1)<<t.Bits()-1)
	}
	out.SetUint(n)
	return out.Interface(), nil
}

// describe renders a raw value for error messages in YAML terms, which is
// what the operator wrote.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case float32, float64:
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}
