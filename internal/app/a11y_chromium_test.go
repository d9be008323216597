package app_test

import (
	"os"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (testdata/axe), read once.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile("testdata/axe/axe.min.js")
	return string(b), err
})

// axeViolation is one rule a page breaks, with the elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun checks the document against WCAG 2.x A and AA (labels, names,
// contrast, landmarks, ARIA use) and answers the violations.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
    targets: v.nodes.map(n => n.target.join(" "))})))`

// requireAccessible runs axe-core in the current page (through DevTools,
// which the page's policy does not govern) and fails on any violation.
func (c *chrome) requireAccessible(page string) {
	c.t.Helper()
	src, err := axeSource()
	if err != nil {
		c.t.Fatalf("axe-core: %v", err)
	}
	var loaded bool
	c.run(chromedp.Evaluate(`typeof axe !== "undefined"`, &loaded))
	if !loaded {
		c.run(chromedp.Evaluate(src, nil))
	}
	var violations []axeViolation
	c.run(chromedp.Evaluate(axeRun, &violations, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	if len(violations) > 0 {
		var b strings.Builder
		for _, v := range violations {
			b.WriteString("\n  " + v.ID + " (" + v.Impact + "): " + v.Help + "\n    " + strings.Join(v.Targets, "\n    "))
		}
		c.t.Fatalf("%s is not accessible:%s", page, b.String())
	}
}

// shoot saves a screenshot of the page and requires it accessible.
func (c *chrome) shoot(name string) {
	c.t.Helper()
	c.screenshot(name)
	c.requireAccessible(name)
}
