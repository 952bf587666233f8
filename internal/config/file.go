package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/secret"
)

// File is a parsed and checked routes file. Its shape:
//
//	templates: ./templates            # optional: a directory, files or globs, or a list of them
//	                                  # ([a/*.tmpl, b/*.tpl]), relative to the file; RELAY_TEMPLATES overrides it
//	senders:                          # optional; chatwork, chatmessenger and console are built in
//	  chatwork-ops:
//	    type: chatwork                # chatwork | chatmessenger | console
//	    api_url: https://api.chatwork.com/v2   # chatwork, optional (default RELAY_CHATWORK_API_URL)
//	    url: https://cam.example.com  # chatmessenger, required
//	    token_env: CHATWORK_OPS_TOKEN # or token_file: /run/secrets/x; never a literal token
//	    limits: { room: {count: 10, per: 10s}, token: {count: 300, per: 5m}, margin: 250ms }
//	    max_chars: 65535              # optional message size limit
//	    separator: "\n[hr]\n"         # optional, between coalesced messages
//	routes:
//	  ops:                            # POST /v1/{source}/ops
//	    auth:                         # optional; otherwise RELAY_AUTH_TOKEN applies
//	      bearer_token_env: OPS_TOKEN
//	      basic: { username: am, password_env: AM_PASS }
//	      grafana_hmac: { secret_env: G_SECRET, header: X-Grafana-Alerting-Signature,
//	                      timestamp_header: X-Grafana-Alerting-Timestamp, max_skew: 5m }
//	      github_secret_env: GH_SECRET
//	      gitlab_token_env: GL_TOKEN
//	    targets:
//	      - sender: chatwork          # a built-in or a named sender
//	        room: "123456"            # chatwork room id
//	        template: ops-chatwork    # optional custom template
//	        matchers: ['severity=~"critical|warning"', 'env!="dev"']
//	        mentions:
//	          to: [1111]              # fixed Chatwork account ids
//	          toall: false
//	          from_label: chatwork_to # label holding "1234,5678"
//	          allow: [1111, 2222]     # the ids from_label may mention
//	          when: { status: [firing], severity: [critical] }
//	      - sender: chatmessenger
//	        panel: messenger          # direct message to users; any other value is a room name
//	        users: [oncall@example.com]
//	        sealed: false
//	        mentions: { from_label: cam_users, allow: [lead@example.com], when: {status: [firing]} }
//
// Every *_env names an environment variable and every *_file a file (relative
// to the routes file) that holds the secret; both are read at load.
type File struct {
	// Name is the file name as given, used in errors.
	Name string
	// Templates are the custom template directories, files and globs in
	// load order, resolved against the file's directory; none when not set.
	Templates []string
	// Senders are the senders the file defines, by name. Chatwork senders
	// without api_url have an empty URL until Build fills it in.
	Senders map[string]*Sender
	// Routes are the routes by name.
	Routes map[string]*Route
}

// Load reads and parses the routes file at path. getenv and readFile
// resolve the secrets it names (os.Getenv and os.ReadFile in production).
func Load(path string, getenv func(string) string, readFile func(string) ([]byte, error)) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routes file: %w", err)
	}
	return Parse(path, data, getenv, readFile)
}

// Parse parses and checks a routes file. filename is used in errors and to
// resolve relative paths. Every error is an *Error with the line and the
// key path; unknown keys, duplicate keys and literal secrets are errors.
func Parse(filename string, data []byte, getenv func(string) string, readFile func(string) ([]byte, error)) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(filename, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: filename, Line: extra.Line, Reason: "want one YAML document, found more"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(filename, err)
	}
	p := &parser{file: filename, dir: filepath.Dir(filename), getenv: getenv, readFile: readFile}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	} else if doc.Kind == 0 {
		root = nil // an empty file
	}
	return p.parseFile(root)
}

// parser holds what parsing needs besides the YAML: where secrets come from.
type parser struct {
	file     string
	dir      string
	getenv   func(string) string
	readFile func(string) ([]byte, error)
}

func (p *parser) parseFile(root *yaml.Node) (*File, error) {
	line := 1
	if root != nil {
		line = root.Line
	}
	o, err := mapping(pos{file: p.file, line: line}, root, "templates", "senders", "routes")
	if err != nil {
		return nil, err
	}
	f := &File{Name: p.file, Senders: map[string]*Sender{}, Routes: map[string]*Route{}}
	if f.Templates, err = o.list("templates"); err != nil {
		return nil, err
	}
	for i, t := range f.Templates {
		if t == "" {
			return nil, o.pos("templates").errorf("want a directory, file or glob, got an empty value")
		}
		f.Templates[i] = p.path(t)
	}
	if err := p.eachEntry(o, "senders", func(name string, at pos, n *yaml.Node) error {
		s, err := p.sender(name, at, n)
		if err == nil {
			f.Senders[name] = s
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := p.eachEntry(o, "routes", func(name string, at pos, n *yaml.Node) error {
		r, err := p.route(name, at, n, f.Senders)
		if err == nil {
			f.Routes[name] = r
		}
		return err
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// namePattern is what sender and route names may be: they appear in URL
// paths, lane keys and metric labels.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// eachEntry calls fn for every name: value pair of the mapping under key,
// in file order, checking names and duplicates.
func (p *parser) eachEntry(o *object, key string, fn func(name string, at pos, n *yaml.Node) error) error {
	n := resolve(o.values[key])
	if isNull(n) {
		return nil
	}
	at := o.pos(key)
	if n.Kind != yaml.MappingNode {
		return at.errorf("want a mapping of names, got %s", describe(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			return pos{p.file, n.Content[i].Line, at.path}.errorf("want a name, got %s", describe(k))
		}
		kat := at.child(k.Value, k)
		if first, dup := seen[k.Value]; dup {
			return kat.errorf("duplicate name (first at line %d)", first)
		}
		seen[k.Value] = k.Line
		if !namePattern.MatchString(k.Value) {
			return kat.errorf("invalid name: use letters, digits, '_', '.' and '-'")
		}
		if err := fn(k.Value, kat, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// path resolves a path from the file against the file's directory.
func (p *parser) path(v string) string {
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(p.dir, v)
}

// envNamePattern is what an environment variable name may be.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads the secret named by base+"_env" or base+"_file" in o. ok
// is false when neither is set. Errors name the variable or the file,
// never the value.
func (p *parser) secret(o *object, base string) (s secret.Secret, ok bool, err error) {
	envKey, fileKey := base+"_env", base+"_file"
	name, err := o.str(envKey)
	if err != nil {
		return s, false, err
	}
	path, err := o.str(fileKey)
	if err != nil {
		return s, false, err
	}
	switch {
	case name != "" && path != "":
		return s, false, o.pos(fileKey).errorf("set %s or %s, not both", envKey, fileKey)
	case name != "":
		if !envNamePattern.MatchString(name) {
			return s, false, o.pos(envKey).errorf("invalid environment variable name %q", name)
		}
		v := p.getenv(name)
		if v == "" {
			return s, false, o.pos(envKey).errorf("environment variable %s is empty or unset", name)
		}
		return secret.New(v), true, nil
	case path != "":
		v, err := readSecretFile(p.readFile, p.path(path))
		if err != nil {
			return s, false, o.pos(fileKey).errorf("%v", err)
		}
		return v, true, nil
	}
	return s, false, nil
}
