package webhook

import (
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders"
)

// senderOptions are the keys of a webhook senders: entry besides the common
// ones. The URL and the secret headers come only from the environment or a
// file: a literal url: or header: is refused with that hint.
type senderOptions struct {
	URLEnv         confyaml.String            `yaml:"url_env"`
	URLFile        confyaml.String            `yaml:"url_file"`
	Headers        map[string]confyaml.String `yaml:"headers"`
	HeaderEnv      map[string]confyaml.String `yaml:"header_env"`
	HeaderFile     map[string]confyaml.String `yaml:"header_file"`
	HMACSecretEnv  confyaml.String            `yaml:"hmac_secret_env"`
	HMACSecretFile confyaml.String            `yaml:"hmac_secret_file"`
	ContentType    confyaml.String            `yaml:"content_type"`
}

// decode turns a senders: entry's own keys into the sender's Config.
func decode(n confyaml.Node, src confyaml.Source) (Config, error) {
	var o senderOptions
	if err := n.Decode(&o); err != nil {
		return Config{}, err
	}
	var c Config
	u, ok, err := src.Secret(n, "url", string(o.URLEnv), string(o.URLFile))
	if err != nil {
		return Config{}, err
	}
	if !ok {
		return Config{}, n.Errorf("url_env or url_file is required for a webhook sender")
	}
	if err := checkURL(u.Reveal()); err != nil {
		at, from := n.Key("url_env"), "environment variable "+string(o.URLEnv)
		if o.URLFile != "" {
			at, from = n.Key("url_file"), "file "+string(o.URLFile)
		}
		return Config{}, at.Errorf("the URL in %s: %v", from, err)
	}
	c.URL = u

	c.Headers = http.Header{}
	seen := map[string]string{} // canonical header name: the key that set it
	hn := n.Key("headers")
	for _, name := range slices.Sorted(maps.Keys(o.Headers)) {
		at, canon := hn.Key(name), http.CanonicalHeaderKey(name)
		if err := checkName(at, canon, seen, "headers"); err != nil {
			return Config{}, err
		}
		if plainForbidden[canon] {
			return Config{}, at.Errorf("a literal secret is not allowed in the routes file; set %s with header_env or header_file", canon)
		}
		v := string(o.Headers[name])
		if !validValue(v) {
			return Config{}, at.Errorf("a header value may not hold control characters")
		}
		c.Headers.Set(canon, v)
	}

	c.SecretHeaders = map[string]secret.Secret{}
	for _, x := range []struct {
		key  string
		m    map[string]confyaml.String
		read func(at confyaml.Node, v string) (secret.Secret, error)
	}{
		{"header_env", o.HeaderEnv, func(at confyaml.Node, env string) (secret.Secret, error) { return envSecret(src, at, env) }},
		{"header_file", o.HeaderFile, func(at confyaml.Node, path string) (secret.Secret, error) { return fileSecret(src, at, path) }},
	} {
		kn := n.Key(x.key)
		for _, name := range slices.Sorted(maps.Keys(x.m)) {
			at, canon := kn.Key(name), http.CanonicalHeaderKey(name)
			if err := checkName(at, canon, seen, x.key); err != nil {
				return Config{}, err
			}
			v, err := x.read(at, string(x.m[name]))
			if err != nil {
				return Config{}, err
			}
			if !validValue(v.Reveal()) {
				return Config{}, at.Errorf("the value of header %s may not hold control characters", canon)
			}
			c.SecretHeaders[canon] = v
		}
	}

	if c.HMACSecret, _, err = src.Secret(n, "hmac_secret", string(o.HMACSecretEnv), string(o.HMACSecretFile)); err != nil {
		return Config{}, err
	}

	c.ContentType = DefaultContentType
	if o.ContentType != "" {
		if _, _, err := mime.ParseMediaType(string(o.ContentType)); err != nil || !validValue(string(o.ContentType)) {
			return Config{}, n.Key("content_type").Errorf("want a media type such as application/json, got %q", o.ContentType)
		}
		c.ContentType = string(o.ContentType)
	}
	return c, nil
}

// reserved are the headers relay sets itself, with the key that sets them.
var reserved = map[string]string{
	"Content-Type":      "the body's type is content_type",
	"Content-Length":    "relay sets Content-Length",
	"Transfer-Encoding": "relay sets Transfer-Encoding",
	"Host":              "the host is the URL's",
	"Connection":        "relay manages the connection",
	SignatureHeader:     "relay sets " + SignatureHeader + " when hmac_secret_env or hmac_secret_file is set",
}

// plainForbidden are headers that hold credentials: they may come only from
// header_env or header_file.
var plainForbidden = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true}

// checkName refuses a header name that is not an HTTP token, that relay
// sets itself, or that another key already set.
func checkName(at confyaml.Node, canon string, seen map[string]string, key string) error {
	if !tokenPattern.MatchString(canon) {
		return at.Errorf("invalid header name %q", canon)
	}
	if why, ok := reserved[canon]; ok {
		return at.Errorf("header %s cannot be set: %s", canon, why)
	}
	if first, dup := seen[canon]; dup {
		return at.Errorf("header %s is set twice (also under %s)", canon, first)
	}
	seen[canon] = key
	return nil
}

// tokenPattern is an HTTP field name (RFC 9110 token).
var tokenPattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// envNamePattern is what an environment variable name may be.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validValue reports whether v can be sent as a header value: no control
// characters but tab.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// envSecret reads a header's secret value from the variable env; errors
// name the variable, never the value.
func envSecret(src confyaml.Source, at confyaml.Node, env string) (secret.Secret, error) {
	if !envNamePattern.MatchString(env) {
		return secret.Secret{}, at.Errorf("invalid environment variable name %q", env)
	}
	v := src.Getenv(env)
	if v == "" {
		return secret.Secret{}, at.Errorf("environment variable %s is empty or unset", env)
	}
	return secret.New(v), nil
}

// fileSecret reads a header's secret value from a file relative to the
// routes file.
func fileSecret(src confyaml.Source, at confyaml.Node, path string) (secret.Secret, error) {
	if path == "" {
		return secret.Secret{}, at.Errorf("want a file name")
	}
	v, err := confyaml.ReadSecretFile(src.ReadFile, src.Path(path))
	if err != nil {
		return secret.Secret{}, at.Errorf("%v", err)
	}
	return v, nil
}

// checkURL accepts an absolute http(s) URL without credentials in it; a
// query is fine (a Teams workflow's signature is one). The error never
// repeats the URL.
func checkURL(raw string) error {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return errors.New("credentials in the URL are not allowed; send them in a header with header_env or header_file")
	}
	return senders.CheckHTTPURL(raw)
}

// checkHeader checks a header of a Config made without the routes file.
// The error never repeats the value, which may be a secret.
func checkHeader(name, value string) error {
	if !tokenPattern.MatchString(name) {
		return fmt.Errorf("invalid header name %q", name)
	}
	if !validValue(value) {
		return fmt.Errorf("the value of header %s may not hold control characters", name)
	}
	return nil
}
