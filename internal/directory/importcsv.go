package directory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// MaxImportRows bounds one import so a wrong file cannot exhaust memory.
const MaxImportRows = 1_000_000

// ImportError lists every bad row of an import; nothing was written.
type ImportError struct {
	Problems []string // "line 7: ..." in line order
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d problem(s), nothing imported:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

func (e *ImportError) Unwrap() error { return ErrInvalid }

type importRow struct {
	line int
	nu   NewUser
}

// ImportCSV reads users from CSV with a header row naming the columns
// userPrincipalName, displayName, and password or passwordHash (optional:
// mail, accountEnabled). Every row is validated (and plaintext passwords
// hashed, in parallel on every core) before anything is stored; then all
// users are created in one transaction. Either every user is imported or
// none is.
func (s *Service) ImportCSV(ctx context.Context, t store.Tenant, r io.Reader) ([]store.User, error) {
	return s.ImportCSVWorkers(ctx, t, r, runtime.NumCPU())
}

// ImportCSVWorkers is ImportCSV hashing on at most workers cores, so a
// running server keeps the others for sign-ins. A cancelled ctx stops the
// import before anything is written.
func (s *Service) ImportCSVWorkers(ctx context.Context, t store.Tenant, r io.Reader, workers int) ([]store.User, error) {
	rows, err := readImportRows(r)
	if err != nil {
		return nil, err
	}
	users := make([]store.User, len(rows))
	problems := make([]string, len(rows))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Go(func() {
			for i := range next {
				u, err := s.prepareUser(t, rows[i].nu)
				if err != nil {
					problems[i] = fmt.Sprintf("line %d: %v", rows[i].line, err)
				}
				users[i] = u
			}
		})
	}
dispatch:
	for i := range rows {
		select {
		case next <- i:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("import (nothing imported): %w", err)
	}
	ie := &ImportError{}
	seen := map[string]int{}
	for i, p := range problems {
		if p != "" {
			ie.Problems = append(ie.Problems, p)
			continue
		}
		for _, k := range []string{users[i].LoginKey, users[i].MailKey} {
			if first, dup := seen[k]; dup && k != "" {
				ie.Problems = append(ie.Problems, fmt.Sprintf("line %d: %s is already used on line %d", rows[i].line, k, first))
			} else if k != "" {
				seen[k] = rows[i].line
			}
		}
	}
	if len(ie.Problems) > 0 {
		return nil, ie
	}
	if err := s.store.CreateUsers(ctx, users...); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if ie := s.existingNames(ctx, t, rows, users); ie != nil {
				return nil, ie
			}
		}
		return nil, fmt.Errorf("import (nothing imported): %w", err)
	}
	return users, nil
}

// existingNames explains a conflicting import: the rows whose sign-in
// names already belong to a user of the directory. Looked up only after
// the store refused, so a clean import pays nothing for it.
func (s *Service) existingNames(ctx context.Context, t store.Tenant, rows []importRow, users []store.User) *ImportError {
	ie := &ImportError{}
	for i, u := range users {
		for _, k := range []string{u.LoginKey, u.MailKey} {
			if k == "" {
				continue
			}
			if _, err := s.store.UserByLogin(ctx, t.ID, k); err == nil {
				ie.Problems = append(ie.Problems, fmt.Sprintf("line %d: %s already belongs to a user of the directory", rows[i].line, k))
			}
		}
	}
	if len(ie.Problems) == 0 {
		return nil
	}
	return ie
}

func readImportRows(r io.Reader) ([]importRow, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	var parseErr *csv.ParseError
	if errors.Is(err, io.EOF) || errors.As(err, &parseErr) {
		return nil, invalidf("read CSV header: %v", err)
	} else if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	col, err := importColumns(header)
	if err != nil {
		return nil, err
	}
	var rows []importRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) { // before FieldPos: it has no position after a parse error
			return nil, invalidf("CSV: %v", err)
		} else if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == MaxImportRows {
			return nil, invalidf("more than %d rows; split the file", MaxImportRows)
		}
		raw := func(name string) string {
			if i, ok := col[name]; ok {
				return rec[i]
			}
			return ""
		}
		get := func(name string) string { return strings.TrimSpace(raw(name)) }
		enabled := !strings.EqualFold(get("accountenabled"), "false")
		rows = append(rows, importRow{line: line, nu: NewUser{
			UserPrincipalName: get("userprincipalname"), DisplayName: get("displayname"), Mail: get("mail"),
			Password:     raw("password"), // untrimmed: spaces may be part of a password
			PasswordHash: get("passwordhash"), AccountEnabled: enabled,
		}})
	}
	if len(rows) == 0 {
		return nil, invalidf("the CSV has a header but no users")
	}
	return rows, nil
}

func importColumns(header []string) (map[string]int, error) {
	col := map[string]int{}
	known := map[string]bool{"userprincipalname": true, "displayname": true, "password": true,
		"passwordhash": true, "mail": true, "accountenabled": true}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[name] {
			return nil, invalidf("unknown CSV column %q (known: userPrincipalName, displayName, password, passwordHash, mail, accountEnabled)", h)
		}
		if _, dup := col[name]; dup {
			return nil, invalidf("CSV column %q appears twice", h)
		}
		col[name] = i
	}
	for _, need := range []string{"userprincipalname", "displayname"} {
		if _, ok := col[need]; !ok {
			return nil, invalidf("CSV header must include userPrincipalName and displayName")
		}
	}
	_, hasPw := col["password"]
	_, hasHash := col["passwordhash"]
	if !hasPw && !hasHash {
		return nil, invalidf("CSV header must include password or passwordHash")
	}
	return col, nil
}
