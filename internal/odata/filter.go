// Package odata parses the subset of OData $filter that Microsoft Graph
// accepts on its logs: comparisons (eq, ne, ge, le), startswith(), and, or,
// not and parentheses, over a fixed schema of typed properties. The result
// is a typed expression tree that storage backends translate into their own
// parameterised queries: user text never reaches a query string.
//
// Errors say what is wrong and where ("at position 17"), in the words Graph
// uses, so the API can return them as they are.
package odata

import (
	"fmt"
	"strings"
	"time"
)

// Type is a property's value type.
type Type int

// The property types a schema can declare.
const (
	String Type = iota
	Int
	Bool
	DateTime
)

func (t Type) String() string {
	return [...]string{"string", "integer", "boolean", "date-time"}[t]
}

// Schema maps the filterable properties (Graph names, with "/" for nested
// ones such as status/errorCode) to their types.
type Schema map[string]Type

// Op is a comparison operator.
type Op string

// The comparison operators of the subset.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Ge Op = "ge"
	Le Op = "le"
)

// Expr is a node of a parsed filter: *Compare, *StartsWith, *And, *Or or
// *Not.
type Expr interface{ isExpr() }

// Value is a typed literal; exactly the field of the property's type is set.
type Value struct {
	Type Type
	Str  string
	Int  int64
	Bool bool
	Time time.Time
}

// Compare is "<Field> <Op> <Value>".
type Compare struct {
	Field string
	Op    Op
	Value Value
}

// StartsWith is "startswith(<Field>, '<Prefix>')" on a string property.
type StartsWith struct {
	Field  string
	Prefix string
}

// And, Or and Not combine expressions.
type (
	And struct{ Left, Right Expr }
	Or  struct{ Left, Right Expr }
	Not struct{ X Expr }
)

func (*Compare) isExpr()    {}
func (*StartsWith) isExpr() {}
func (*And) isExpr()        {}
func (*Or) isExpr()         {}
func (*Not) isExpr()        {}

// Error is a filter the parser refuses, with the 1-based character position
// of the offending token.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("Invalid filter clause: %s at position %d.", e.Msg, e.Pos)
	}
	return "Invalid filter clause: " + e.Msg + "."
}

// Limits that keep a hostile filter cheap to parse and to run.
const (
	MaxLength = 4096
	MaxDepth  = 32
	MaxTerms  = 64
)

// Parse parses filter against schema.
func Parse(filter string, schema Schema) (Expr, error) {
	if len(filter) > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("the filter is longer than %d characters", MaxLength)}
	}
	toks, err := lex(filter)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, schema: schema}
	if p.peek().kind == tokEOF {
		return nil, &Error{Msg: "the filter is empty"}
	}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &Error{Pos: t.pos, Msg: fmt.Sprintf("unexpected '%s'", t.text)}
	}
	return e, nil
}

// Format renders an expression back as a filter (for logs and tests).
func Format(e Expr) string {
	switch n := e.(type) {
	case *Compare:
		return n.Field + " " + string(n.Op) + " " + n.Value.literal()
	case *StartsWith:
		return "startswith(" + n.Field + ", " + quote(n.Prefix) + ")"
	case *And:
		return "(" + Format(n.Left) + " and " + Format(n.Right) + ")"
	case *Or:
		return "(" + Format(n.Left) + " or " + Format(n.Right) + ")"
	case *Not:
		return "not (" + Format(n.X) + ")"
	}
	return "?"
}

func (v Value) literal() string {
	switch v.Type {
	case Int:
		return fmt.Sprint(v.Int)
	case Bool:
		return fmt.Sprint(v.Bool)
	case DateTime:
		return v.Time.UTC().Format(time.RFC3339Nano)
	}
	return quote(v.Str)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
