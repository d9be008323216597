package signinlog

import (
	"regexp"
	"strings"
)

// ParseUserAgent fills Graph's deviceDetail browser and operatingSystem from a
// User-Agent header, the way Entra's sign-in log shows them ("Chrome 120.0.0",
// "Windows10"). Unknown agents keep their product token so admins still see
// what called (for example "Go-http-client 1.1").
func ParseUserAgent(ua string) DeviceDetail {
	if len(ua) > 512 {
		ua = ua[:512] // bound the work on hostile input
	}
	return DeviceDetail{Browser: browserOf(ua), OperatingSystem: osOf(ua)}
}

var browserPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"Edge", regexp.MustCompile(`Edg(?:e|A|iOS)?/([\d.]+)`)},
	{"Opera", regexp.MustCompile(`OPR/([\d.]+)`)},
	{"Firefox", regexp.MustCompile(`Firefox/([\d.]+)`)},
	{"Chrome", regexp.MustCompile(`(?:Chrome|CriOS)/([\d.]+)`)},
	{"Safari", regexp.MustCompile(`Version/([\d.]+).*Safari/`)},
	{"curl", regexp.MustCompile(`^curl/([\d.]+)`)},
}

var productToken = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9._-]{0,40})/([\w.]{1,20})`)

func browserOf(ua string) string {
	for _, p := range browserPatterns {
		if m := p.re.FindStringSubmatch(ua); m != nil {
			return p.name + " " + m[1]
		}
	}
	if m := productToken.FindStringSubmatch(ua); m != nil {
		return m[1] + " " + m[2]
	}
	return ""
}

func osOf(ua string) string {
	switch {
	case strings.Contains(ua, "Windows NT 10"):
		return "Windows10"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "Ios"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "Mac OS X"):
		return "MacOs"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Linux"):
		return "Linux"
	}
	return ""
}
