package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string // identifiers and bare literals as written; strings unquoted
	pos  int    // 1-based character position
}

// lex splits the filter into tokens. Bare words (names, operators, numbers,
// true/false, date-times) are identifiers; the parser decides what they are.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		pos := utf8.RuneCountInString(s[:i]) + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tokLParen, "(", pos})
			i++
		case c == ')':
			out = append(out, token{tokRParen, ")", pos})
			i++
		case c == ',':
			out = append(out, token{tokComma, ",", pos})
			i++
		case c == '\'':
			str, n, ok := lexString(s[i:])
			if !ok {
				return nil, &Error{Pos: pos, Msg: "unterminated string literal"}
			}
			out = append(out, token{tokString, str, pos})
			i += n
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{tokIdent, s[i:j], pos})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("unexpected character '%c'", r)}
		}
	}
	return append(out, token{kind: tokEOF, pos: utf8.RuneCountInString(s) + 1}), nil
}

// lexString reads a quoted literal (” is an escaped quote) and returns it
// unquoted with the bytes consumed.
func lexString(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

// isWordByte: letters, digits and the characters of property paths, numbers
// and date-times (status/errorCode, -5, 2026-11-24T10:00:00.5+01:00).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '/' || c == '_' || c == '-' || c == '+' || c == ':' || c == '.'
}

type parser struct {
	toks   []token
	i      int
	schema Schema
	terms  int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, word)
}

// or := and { "or" and }
func (p *parser) or(depth int) (Expr, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		p.next()
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = &Or{left, right}
	}
	return left, nil
}

// and := unary { "and" unary }
func (p *parser) and(depth int) (Expr, error) {
	left, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		p.next()
		right, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		left = &And{left, right}
	}
	return left, nil
}

// unary := "not" unary | "(" or ")" | startswith | comparison
func (p *parser) unary(depth int) (Expr, error) {
	if depth > MaxDepth {
		return nil, &Error{Pos: p.peek().pos, Msg: fmt.Sprintf("the filter nests deeper than %d levels", MaxDepth)}
	}
	t := p.peek()
	switch {
	case p.keyword("not"):
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{x}, nil
	case t.kind == tokLParen:
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, unexpected(c, "')'")
		}
		return x, nil
	case p.keyword("startswith"):
		return p.startsWith()
	case t.kind == tokIdent:
		return p.comparison()
	}
	return nil, unexpected(t, "a property name, 'not', 'startswith' or '('")
}

func (p *parser) countTerm(pos int) error {
	if p.terms++; p.terms > MaxTerms {
		return &Error{Pos: pos, Msg: fmt.Sprintf("the filter has more than %d conditions", MaxTerms)}
	}
	return nil
}

func (p *parser) startsWith() (Expr, error) {
	fn := p.next()
	if err := p.countTerm(fn.pos); err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokLParen {
		return nil, unexpected(t, "'(' after startswith")
	}
	field, typ, err := p.property()
	if err != nil {
		return nil, err
	}
	if typ != String {
		return nil, &Error{Pos: fn.pos, Msg: fmt.Sprintf("startswith needs a string property; '%s' is a %s", field, typ)}
	}
	if t := p.next(); t.kind != tokComma {
		return nil, unexpected(t, "','")
	}
	lit := p.next()
	if lit.kind != tokString {
		return nil, unexpected(lit, "a quoted string")
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, unexpected(t, "')'")
	}
	return &StartsWith{Field: field, Prefix: lit.text}, nil
}

func (p *parser) property() (string, Type, error) {
	t := p.next()
	if t.kind != tokIdent {
		return "", 0, unexpected(t, "a property name")
	}
	for name, typ := range p.schema {
		if strings.EqualFold(name, t.text) {
			return name, typ, nil
		}
	}
	return "", 0, &Error{Pos: t.pos, Msg: fmt.Sprintf("'%s' is not a property you can filter on", t.text)}
}

func (p *parser) comparison() (Expr, error) {
	start := p.peek().pos
	if err := p.countTerm(start); err != nil {
		return nil, err
	}
	field, typ, err := p.property()
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	if opTok.kind != tokIdent {
		return nil, unexpected(opTok, "an operator (eq, ne, ge, le)")
	}
	op := Op(strings.ToLower(opTok.text))
	switch op {
	case Eq, Ne:
	case Ge, Le:
		if typ == Bool {
			return nil, &Error{Pos: opTok.pos, Msg: fmt.Sprintf("'%s' is a boolean: use eq or ne", field)}
		}
	case "gt", "lt":
		return nil, &Error{Pos: opTok.pos, Msg: fmt.Sprintf("operator '%s' is not supported: use ge or le", op)}
	default:
		return nil, unexpected(opTok, "an operator (eq, ne, ge, le)")
	}
	v, err := p.literal(field, typ)
	if err != nil {
		return nil, err
	}
	return &Compare{Field: field, Op: op, Value: v}, nil
}

// literal reads the value of a comparison and checks it against the
// property's type.
func (p *parser) literal(field string, typ Type) (Value, error) {
	t := p.next()
	bad := func(want string) (Value, error) {
		if t.kind == tokEOF {
			return Value{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("'%s' needs %s to compare with", field, want)}
		}
		return Value{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("'%s' is %s, not %s", field, article(typ), describe(t))}
	}
	switch typ {
	case String:
		if t.kind != tokString {
			return bad("a quoted string")
		}
		return Value{Type: String, Str: t.text}, nil
	case Int:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if t.kind != tokIdent || err != nil {
			return bad("an integer")
		}
		return Value{Type: Int, Int: n}, nil
	case Bool:
		if t.kind != tokIdent || (t.text != "true" && t.text != "false") {
			return bad("true or false")
		}
		return Value{Type: Bool, Bool: t.text == "true"}, nil
	}
	// Graph writes date-times bare (createdDateTime ge 2026-11-24T00:00:00Z);
	// a quoted one is accepted too.
	if t.kind != tokIdent && t.kind != tokString {
		return bad("a date-time")
	}
	at, err := time.Parse(time.RFC3339Nano, t.text)
	if err != nil {
		if day, derr := time.Parse("2006-01-02", t.text); derr == nil {
			return Value{Type: DateTime, Time: day}, nil
		}
		return Value{}, &Error{Pos: t.pos, Msg: fmt.Sprintf("'%s' is not a date-time such as 2026-11-24T10:00:00Z", t.text)}
	}
	return Value{Type: DateTime, Time: at}, nil
}

func article(t Type) string {
	if t == Int {
		return "an integer"
	}
	return "a " + t.String()
}

func describe(t token) string {
	switch t.kind {
	case tokString:
		return "the string '" + t.text + "'"
	case tokLParen, tokRParen, tokComma:
		return "'" + t.text + "'"
	}
	return "'" + t.text + "'"
}

func unexpected(t token, want string) error {
	if t.kind == tokEOF {
		return &Error{Pos: t.pos, Msg: "the filter ends where " + want + " was expected"}
	}
	text := t.text
	if t.kind == tokString {
		text = quote(text)
	}
	return &Error{Pos: t.pos, Msg: fmt.Sprintf("unexpected '%s' where %s was expected", text, want)}
}
