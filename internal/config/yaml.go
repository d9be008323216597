package config

import (
	"fmt"
	"io"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// WriteYAML writes c as a YAML config file that Load accepts back unchanged.
// Keys appear in declaration order and durations as Go duration strings
// ("1h0m0s"), because a plain yaml.Marshal would emit nanosecond integers,
// which Load rejects as ambiguous.
func WriteYAML(w io.Writer, c Config) error {
	root, err := structNode(reflect.ValueOf(c))
	if err != nil {
		return fmt.Errorf("encoding configuration as YAML: %w", err)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("encoding configuration as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding configuration as YAML: %w", err)
	}
	return nil
}

func structNode(v reflect.Value) (*yaml.Node, error) {
	node := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	for i := range t.NumField() {
		// The koanf tag is what Load reads; the yaml tag is kept equal to it
		// for code that marshals Config directly.
		name := t.Field(i).Tag.Get("koanf")
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: name}
		val, err := valueNode(v.Field(i))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		node.Content = append(node.Content, key, val)
	}
	return node, nil
}

func valueNode(v reflect.Value) (*yaml.Node, error) {
	switch {
	case v.Type() == durationType:
		return encodeNode(time.Duration(v.Int()).String())
	case v.Kind() == reflect.Struct:
		return structNode(v)
	case v.Kind() == reflect.Slice && v.IsNil():
		// Written as [] rather than null so the key reads as "a list, empty".
		return encodeNode([]string{})
	}
	return encodeNode(v.Interface())
}

func encodeNode(v any) (*yaml.Node, error) {
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}
