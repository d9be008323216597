package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Results is results.json.
type Results struct {
	Machine   Machine           `json:"machine"`
	Smoke     bool              `json:"smoke"`
	Started   time.Time         `json:"started"`
	Finished  time.Time         `json:"finished"`
	Scenarios []*ScenarioResult `json:"scenarios"`
}

// Machine describes where the numbers were measured.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"numCPU"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpuModel,omitempty"`
	MemTotal   string `json:"memTotal,omitempty"`
	GoVersion  string `json:"goVersion"`
	GitCommit  string `json:"gitCommit,omitempty"` // "-dirty" when the tree had changes
}

// ScenarioResult is one scenario's parameters and outcome.
type ScenarioResult struct {
	Name    string            `json:"name"`
	Params  map[string]any    `json:"parameters"`
	Metrics []Metric          `json:"metrics"`
	Loads   map[string]*Stats `json:"loads"`
	Notes   []string          `json:"notes,omitempty"`
	Pass    bool              `json:"pass"` // every target met (and no error)
	Error   string            `json:"error,omitempty"`
}

// Metric is one reported value; Met is nil when there is no target.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

func (r *ScenarioResult) add(name string, v float64, unit string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit})
}

// atLeast and below add a metric with a target.
func (r *ScenarioResult) atLeast(name string, v float64, unit string, target float64) {
	met := v >= target
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Target: "≥ " + formatValue(target, unit), Met: &met})
}

func (r *ScenarioResult) below(name string, v float64, unit string, target float64) {
	met := v < target
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Target: "< " + formatValue(target, unit), Met: &met})
}

func (r *ScenarioResult) finish(smoke bool) {
	r.Pass = r.Error == ""
	for _, m := range r.Metrics {
		if m.Met != nil && !*m.Met {
			r.Pass = false
		}
	}
	if smoke {
		r.Notes = append(r.Notes, "smoke run: tiny sizes, targets are not meaningful")
	}
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	case "x":
		return fmt.Sprintf("%.1f×", v)
	case "cores":
		return fmt.Sprintf("%.2f cores", v)
	case "/s":
		if v >= 100 {
			return fmt.Sprintf("%.0f/s", v)
		}
		return fmt.Sprintf("%.1f/s", v)
	}
	return strings.TrimSpace(fmt.Sprintf("%.0f %s", v, unit))
}

func (res *Results) markdownTable() string {
	var b strings.Builder
	b.WriteString("| Scenario | Metric | Value | Target | Met? |\n|---|---|---|---|---|\n")
	for _, s := range res.Scenarios {
		if s.Error != "" {
			fmt.Fprintf(&b, "| %s | error | %s | | no |\n", s.Name, strings.ReplaceAll(firstLine(s.Error), "|", "\\|"))
		}
		for _, m := range s.Metrics {
			met := ""
			if m.Met != nil {
				met = map[bool]string{true: "yes", false: "**no**"}[*m.Met]
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.Name, m.Name, formatValue(m.Value, m.Unit), m.Target, met)
		}
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func resultsPath(dir, ext string) string { return filepath.Join(dir, "results."+ext) }

func (res *Results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(resultsPath(dir, "json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(resultsPath(dir, "md"), []byte(res.markdown()), 0o644)
}

func (res *Results) markdown() string {
	m := res.Machine
	var b strings.Builder
	b.WriteString("# Portcullis benchmark results\n\n")
	fmt.Fprintf(&b, "%s → %s (UTC), smoke=%v\n\n", res.Started.Format(time.DateTime), res.Finished.Format(time.DateTime), res.Smoke)
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s, commit %s\n\n",
		m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.GoVersion, m.GitCommit)
	b.WriteString(res.markdownTable())
	for _, s := range res.Scenarios {
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "\n- %s: %s", s.Name, n)
		}
	}
	b.WriteString("\n")
	return b.String()
}

func machineInfo(ctx context.Context) Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
		m.GitCommit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain").Output(); err == nil && len(st) > 0 {
			m.GitCommit += "-dirty"
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
