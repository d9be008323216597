package signinlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// FileStream appends records as JSON lines to a file and rotates it when it
// would pass maxBytes: path becomes path.1, path.1 becomes path.2, and so
// on, keeping keep old files. Tools such as CrowdSec, fail2ban or a SIEM
// agent read it without parsing free text.
type FileStream struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewFileStream opens (or creates, mode 0640) path for appending.
func NewFileStream(path string, maxBytes int64, keep int) (*FileStream, error) {
	s := &FileStream{path: path, maxBytes: maxBytes, keep: max(keep, 1)}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileStream) open() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("sign-in stream file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("sign-in stream file: %w", err)
	}
	s.f, s.size = f, fi.Size()
	return nil
}

// Deliver writes one batch, one record per line, rotating first if needed.
func (s *FileStream) Deliver(_ context.Context, records [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf bytes.Buffer
	for _, r := range records {
		buf.Write(r)
		buf.WriteByte('\n')
	}
	if s.size > 0 && s.size+int64(buf.Len()) > s.maxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(buf.Bytes())
	s.size += int64(n)
	return err
}

func (s *FileStream) rotate() error {
	if err := s.f.Close(); err != nil {
		return err
	}
	for i := s.keep - 1; i >= 1; i-- {
		from := s.path + "." + strconv.Itoa(i)
		if err := os.Rename(from, s.path+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return err
	}
	_ = os.Remove(s.path + "." + strconv.Itoa(s.keep+1))
	return s.open()
}

// Close closes the file.
func (s *FileStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}

// Webhook posts batches as a JSON array to a URL. Any 2xx is success;
// anything else is retried by the Outbox.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Deliver posts one batch.
func (h *Webhook) Deliver(ctx context.Context, records [][]byte) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, r := range records {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r)
	}
	buf.WriteByte(']')
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Not the *url.Error itself: it quotes the URL, whose query often
		// carries the SIEM's token, and this error is logged.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook request: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
