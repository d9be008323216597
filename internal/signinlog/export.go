package signinlog

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// exportPage is how many records one store read fetches while exporting (a
// variable so a test can make pages small).
var exportPage = 1000

// Export writes every record matching f, in f's order, to w as CSV (the
// columns of CSVHeader) or as a JSON array of Graph records. It pages
// through the store with the keyset cursor, reading the next page while the
// last one is written, so memory stays bounded by two pages however many
// records match. f.Limit and f.After are ignored.
func Export(ctx context.Context, search store.SignInSearch, f store.SignInFilter, format string, w io.Writer) error {
	out, err := newExportWriter(format, w)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages, fetchErr := make(chan []store.SignInRow, 1), make(chan error, 1)
	go func() {
		defer close(pages)
		fetchErr <- fetchPages(ctx, search, f, pages)
	}()
	for rows := range pages {
		if err := out.writePage(rows); err != nil {
			cancel()
			for range pages { // let the reader finish
			}
			return err
		}
	}
	if err := <-fetchErr; err != nil {
		return err
	}
	return out.close()
}

// fetchPages sends every page matching f to pages until the last one.
func fetchPages(ctx context.Context, search store.SignInSearch, f store.SignInFilter, pages chan<- []store.SignInRow) error {
	f.Limit, f.After = exportPage, nil
	for {
		rows, err := search.FindSignIns(ctx, f)
		if err != nil {
			return err
		}
		select {
		case pages <- rows:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(rows) < f.Limit {
			return nil
		}
		last := rows[len(rows)-1]
		f.After = &store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}

type exportWriter interface {
	writePage(rows []store.SignInRow) error
	close() error
}

func newExportWriter(format string, w io.Writer) (exportWriter, error) {
	switch format {
	case "csv":
		e := &csvExport{cw: csv.NewWriter(w)}
		return e, e.cw.Write(CSVHeader)
	case "json":
		return &jsonExport{w: w}, nil
	}
	return nil, fmt.Errorf("export format must be csv or json, not %q", format)
}

type jsonExport struct {
	w     io.Writer
	count int
}

func (j *jsonExport) writePage(rows []store.SignInRow) error {
	for _, row := range rows {
		sep := ",\n"
		if j.count == 0 {
			sep = "[\n"
		}
		j.count++
		if _, err := io.WriteString(j.w, sep); err != nil {
			return err
		}
		if _, err := j.w.Write(row.Body); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonExport) close() error {
	end := "\n]\n"
	if j.count == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

type csvExport struct{ cw *csv.Writer }

// writePage decodes the page's records on every core (decoding a record's
// JSON costs more than reading it) and writes the rows in order.
func (e *csvExport) writePage(rows []store.SignInRow) error {
	out := make([][]string, len(rows))
	errs := make([]error, len(rows))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/64))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(rows); i += workers {
				out[i], errs[i] = CSVRow(rows[i].Body)
			}
		})
	}
	wg.Wait()
	for i, row := range out {
		if errs[i] != nil {
			return fmt.Errorf("sign-in %s: %w", rows[i].ID, errs[i])
		}
		if err := e.cw.Write(row); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvExport) close() error {
	e.cw.Flush()
	return e.cw.Error()
}
