package signinlog

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// exportPage is how many records one store read fetches while exporting (a
// variable so a test can make pages small).
var exportPage = 1000

// Export writes every record matching f, in f's order, to w as CSV (the
// columns of CSVHeader) or as a JSON array of Graph records. It pages
// through the store with the keyset cursor, so memory stays bounded by one
// page however many records match. f.Limit and f.After are ignored.
func Export(ctx context.Context, search store.SignInSearch, f store.SignInFilter, format string, w io.Writer) error {
	out, err := newExportWriter(format, w)
	if err != nil {
		return err
	}
	f.Limit, f.After = exportPage, nil
	for {
		rows, err := search.FindSignIns(ctx, f)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := out.write(row.Body); err != nil {
				return err
			}
		}
		if len(rows) < f.Limit {
			return out.close()
		}
		last := rows[len(rows)-1]
		f.After = &store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}

type exportWriter interface {
	write(record []byte) error
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

func (j *jsonExport) write(record []byte) error {
	sep := ",\n"
	if j.count == 0 {
		sep = "[\n"
	}
	j.count++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err := j.w.Write(record)
	return err
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

func (e *csvExport) write(record []byte) error {
	row, err := CSVRow(record)
	if err != nil {
		return err
	}
	return e.cw.Write(row)
}

func (e *csvExport) close() error {
	e.cw.Flush()
	return e.cw.Error()
}
