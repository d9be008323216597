package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// NewLogger builds the structured logger from config.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Server is a running Portcullis.
type Server struct {
	stopBackground context.CancelFunc
	events         *events.Bus
	provider       *oidc.Provider
	db             *sqlstore.DB
	writer         *signinlog.Writer
	outboxes       []*signinlog.Outbox
	outboxesDone   []chan struct{}
	http           *http.Server
	ln             net.Listener
	baseURL        string
	closeState     func() error // the shared state backend's connection
	dataDir        string
	tenant         store.Tenant
}

// Serve runs Portcullis until ctx is cancelled. On a data directory with no
// tenant it first initialises one and prints the administrator's generated
// password once. out receives the human-readable start-up banner.
func Serve(ctx context.Context, cfg config.Config, out io.Writer, logger *slog.Logger) error {
	s, err := Start(ctx, cfg, out, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Shutdown(context.Background())
}

// Start opens everything, starts listening and returns.
func Start(ctx context.Context, cfg config.Config, out io.Writer, logger *slog.Logger) (*Server, error) {
	// Every request needs several random IDs (trace, correlation, record):
	// draw them from a buffered pool instead of one getrandom call each.
	uuid.EnableRandPool()
	if cfg.MemoryLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
	db, err := OpenConfiguredStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Relax(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{db: db, events: events.NewBus(), dataDir: cfg.DataDir}
	if err := s.start(ctx, cfg, out, logger); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, cfg config.Config, out io.Writer, logger *slog.Logger) error {
	tenant, err := s.tenantOrInitialise(ctx, cfg, out)
	if err != nil {
		return err
	}
	s.tenant = tenant
	proxies, err := config.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return err
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.baseURL = strings.TrimRight(cfg.PublicURL, "/")
	if s.baseURL == "" {
		s.baseURL = "http://" + s.ln.Addr().String()
		if tlsCfg != nil {
			s.baseURL = "https://" + s.ln.Addr().String()
		}
	}
	if tlsCfg != nil {
		s.ln = tls.NewListener(s.ln, tlsCfg)
	}
	handler, err := s.handler(ctx, cfg, proxies, logger)
	if err != nil {
		s.ln.Close()
		return err
	}
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server stopped", "error", err)
		}
	}()
	printURLs(out, s.baseURL, tenant.ID)
	logger.Info("portcullis listening", "addr", s.ln.Addr().String(), "public_url", s.baseURL, "tenant", tenant.ID)
	return nil
}

func (s *Server) handler(ctx context.Context, cfg config.Config, proxies []netip.Prefix, logger *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	pool := hashpool.NewWithOptions(cfg.HashWorkers(), cfg.Passwords.HashQueue, cfg.Passwords.HashQueueTimeout,
		hashpool.Options{FamiliarQueue: cfg.Passwords.HashQueueFamiliar, PerSource: cfg.Passwords.HashQueuePerSource}, reg)
	src, err := OpenIPSources(cfg, logger)
	if err != nil {
		return nil, err
	}
	state, err := openGuardState(ctx, cfg, s.db)
	if err != nil {
		return nil, err
	}
	s.closeState = state.close
	g, err := newGuardShared(ctx, cfg, state, pool, s.events, src, logger, reg)
	if err != nil {
		return nil, err
	}
	// Feeds load and refresh in the background: sign-ins never wait for a
	// download, they see each new list once it is complete.
	bg, cancel := context.WithCancel(context.Background())
	s.stopBackground = cancel
	go src.Feeds.Run(bg)
	go g.Run(bg)
	s.writer = signinlog.NewWriter(s.db, cfg.SignInLog.BatchSize, cfg.SignInLog.QueueSize, reg)
	if err := s.startStreams(bg, cfg, logger); err != nil {
		return nil, err
	}
	retention := &signinlog.Retention{Store: s.db, SignInDays: cfg.SignInLog.RetentionDays,
		AuditDays: cfg.SignInLog.AuditRetentionDays, Batch: 1000, Pause: 50 * time.Millisecond, Logger: logger,
		PruneGrants: s.db.PruneGrants}
	go retention.Run(bg, time.Hour)
	go indexSignInBacklog(bg, s.db, logger)
	// Directories initialised before ES256 keys existed get one now.
	if created, err := oidc.EnsureKeys(ctx, s.db, time.Now()); err != nil {
		return nil, err
	} else if len(created) > 0 {
		logger.Info("created missing signing keys", "count", len(created))
	}
	keys := oidc.NewKeySet(s.db, time.Now)
	provider, err := oidc.New(ctx, oidc.Config{
		PublicURL: s.baseURL, Store: s.db, Directory: DirectoryService(s.db, cfg), Guard: g,
		Keys: keys, SignInLog: s.writer, Logger: logger, Metrics: reg,
		Lifetimes: oidc.Lifetimes{Access: cfg.Tokens.AccessTokenLifetime, ID: cfg.Tokens.IDTokenLifetime,
			Refresh: cfg.Tokens.RefreshTokenLifetime},
		Browser: oidc.BrowserConfig{RevealLockout: cfg.SignIn.RevealLockout, SessionLifetime: cfg.SignIn.SessionLifetime,
			PersistentLifetime: cfg.SignIn.PersistentSessionLifetime, DeviceCookieLifetime: cfg.SignIn.DeviceCookieLifetime,
			BrandingName: cfg.SignIn.BrandingName, LogoURL: logoURL(cfg)},
	})
	if err != nil {
		return nil, err
	}
	s.provider = provider
	mux := http.NewServeMux()
	if err := s.registerPublic(mux, cfg, state, reg, logger); err != nil {
		return nil, err
	}
	adminapi.New(adminapi.Config{Store: s.db, Keys: keys, PublicURL: s.baseURL, Guard: g,
		Directory: DirectoryService(s.db, cfg), Feeds: src.Feeds, UserChanged: provider.ForgetUser, AppChanged: provider.ForgetApp,
		KeyOverlap: KeyOverlap(cfg), UserRetentionDays: cfg.SignInLog.UserDays(), Logger: logger}).Register(mux)
	if err := s.registerAdminCenter(ctx, cfg, mux, keys, logger); err != nil {
		return nil, err
	}
	mux.Handle("/", provider)
	hsts := strings.HasPrefix(s.baseURL, "https://")
	return httpx.SecurityHeaders(hsts, httpx.RequestIDs(httpx.NewClientIPResolver(proxies).Middleware(mux))), nil
}

// registerPublic adds the routes that need no token: health and readiness,
// metrics (from the allowed addresses), the error reference page, the
// hosted pages' assets and the branding logo.
func (s *Server) registerPublic(mux *http.ServeMux, cfg config.Config, state guardState, reg *prometheus.Registry,
	logger *slog.Logger) error {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.Ping(r.Context()); err != nil {
			logger.Error("readiness check failed", "error", err)
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
			return
		}
		if state.ping != nil {
			if err := state.ping(r.Context()); err != nil {
				logger.Error("readiness check failed: shared state unavailable", "error", err)
				httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shared state unavailable"})
				return
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	metricsAllow, err := config.ParsePrefixes(cfg.MetricsAllow)
	if err != nil {
		return fmt.Errorf("metrics_allow: %w", err)
	}
	mux.Handle("GET /metrics", onlyFrom(metricsAllow, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /error", oidc.ErrorPage)
	mux.Handle("GET /assets/", webui.Assets())
	mux.Handle("GET /favicon.ico", webui.Favicon())
	if cfg.SignIn.LogoFile != "" {
		logo, err := webui.Logo(cfg.SignIn.LogoFile, config.MaxLogoBytes)
		if err != nil {
			return err
		}
		mux.Handle("GET /branding/logo", logo)
	}
	return nil
}

// DataDir is the data directory the server runs on.
func (s *Server) DataDir() string { return s.dataDir }

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// BaseURL is the public URL in use.
func (s *Server) BaseURL() string { return s.baseURL }

// Shutdown stops accepting, lets in-flight requests finish (their sign-in
// records commit), then closes the log writer and the database.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	s.writer.Close()
	for _, o := range s.outboxes {
		o.Close() // deliver what is buffered
	}
	deadline := time.After(5 * time.Second) // a failing destination must not hold up shutdown
	for _, done := range s.outboxesDone {
		select {
		case <-done:
		case <-deadline:
		}
	}
	s.stopBackground()
	var stateErr error
	if s.closeState != nil {
		stateErr = s.closeState()
	}
	return errors.Join(err, stateErr, s.db.Close())
}

// tenantOrInitialise returns the tenant, first initialising an empty
// directory. Instances starting together on one empty database take turns
// (Exclusive), so exactly one initialises it and the others find its
// tenant.
func (s *Server) tenantOrInitialise(ctx context.Context, cfg config.Config, out io.Writer) (store.Tenant, error) {
	var tenant store.Tenant
	err := s.db.Exclusive(ctx, "initialise", func() error {
		var err error
		tenant, err = SingleTenant(ctx, s.db)
		if !errors.Is(err, ErrNotInitialised) {
			return err
		}
		res, err := Initialise(ctx, s.db, cfg, InitOptions{Domain: DefaultDomain})
		if err != nil {
			return fmt.Errorf("initialise %s: %w", storageName(cfg), err)
		}
		printInit(out, storageName(cfg), res)
		tenant = res.Tenant
		return nil
	})
	return tenant, err
}

// storageName says where the directory lives, for messages.
func storageName(cfg config.Config) string {
	if cfg.Storage.Type == "postgres" {
		return "the PostgreSQL database"
	}
	return cfg.DataDir
}

func printInit(out io.Writer, where string, res InitResult) {
	fmt.Fprintf(out, "Initialised a new Portcullis directory in %s\n", where)
	fmt.Fprintf(out, "  Tenant:         %s (id %s)\n", res.Tenant.Domains[0], res.Tenant.ID)
	fmt.Fprintf(out, "  Administrator:  %s\n", res.Admin.UserPrincipalName)
	if res.AdminPassword != "" {
		fmt.Fprintf(out, "  Password:       %s\n", res.AdminPassword)
		fmt.Fprintf(out, "                  (shown only this once; change it with `portcullis users set-password`)\n")
	}
	fmt.Fprintf(out, "  CLI client ID:  %s (public client, password grant allowed)\n", res.CLIApp.ClientID)
}

func printURLs(out io.Writer, base, tenantID string) {
	fmt.Fprintf(out, "Portcullis is listening on %s\n", base)
	fmt.Fprintf(out, "  OpenID configuration: %s/%s/v2.0/.well-known/openid-configuration\n", base, tenantID)
	fmt.Fprintf(out, "  Token endpoint:       %s/%s/oauth2/v2.0/token\n", base, tenantID)
	fmt.Fprintf(out, "  Admin center:         %s/admin\n", base)
	fmt.Fprintf(out, "  Health and metrics:   %s/healthz  %s/metrics\n", base, base)
}

// Store is the server's database (tests and embedding).
func (s *Server) Store() *sqlstore.DB { return s.db }

// Events is the server's event bus (account locked/unlocked...).
func (s *Server) Events() *events.Bus { return s.events }

// GrantTypes lists the token endpoint's grant types (the same-gate test
// enumerates them).
func (s *Server) GrantTypes() []string { return s.provider.GrantTypes() }

// startStreams subscribes the configured sinks (JSON lines file, webhook)
// to the sign-in log writer. Each has its own bounded buffer: a slow or
// failing destination drops its own copies, never delays a sign-in.
func (s *Server) startStreams(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	const bufferedBatches = 1024
	if path := cfg.SignInLog.StreamFile; path != "" {
		fs, err := signinlog.NewFileStream(path, int64(cfg.SignInLog.StreamFileMaxMiB)<<20, cfg.SignInLog.StreamFileKeep)
		if err != nil {
			return err
		}
		s.addOutbox(ctx, signinlog.NewOutbox("file "+path, bufferedBatches, fs.Deliver, logger))
	}
	if u := cfg.SignInLog.WebhookURL; u != "" {
		hook := &signinlog.Webhook{URL: u, Client: &http.Client{Timeout: 10 * time.Second}}
		s.addOutbox(ctx, signinlog.NewOutbox("webhook", bufferedBatches, hook.Deliver, logger))
	}
	return nil
}

func (s *Server) addOutbox(ctx context.Context, o *signinlog.Outbox) {
	done := make(chan struct{})
	s.outboxes, s.outboxesDone = append(s.outboxes, o), append(s.outboxesDone, done)
	s.writer.Subscribe(o.Offer)
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
}

// indexSignInBacklog brings the sign-in log's address index up to date in
// steps of 20,000 records with a pause between them, so that a log written
// before the index existed becomes fast to search by address without the
// writer ever waiting for more than one step. On an up-to-date log it
// returns at once; afterwards the log's own commits keep the index current.
func indexSignInBacklog(ctx context.Context, db *sqlstore.DB, logger *slog.Logger) {
	const step = 20000
	total := 0
	for {
		n, err := db.IndexSignIns(ctx, step)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("indexing the sign-in log's addresses failed; the log's commits will retry", "error", err)
			}
			return
		}
		if n < step {
			if total > 0 {
				logger.Info("indexed the sign-in log's addresses", "records", total)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logoURL is where the hosted pages find the configured logo.
func logoURL(cfg config.Config) string {
	if cfg.SignIn.LogoFile == "" {
		return ""
	}
	return "/branding/logo"
}

// onlyFrom serves next to clients in allow (the address after
// trusted_proxies) and answers everyone else 404, as if nothing were there.
func onlyFrom(allow []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := httpx.ClientIP(r.Context())
		for _, p := range allow {
			if p.Contains(ip) {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}
