package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/relayhq/relay/internal/confyaml"
	"github.com/relayhq/relay/internal/senders"
)

// File is a parsed and checked routes file. Its shape:
//
//	templates: ./templates            # optional: a directory, files or globs, or a list of them
//	                                  # ([a/*.tmpl, b/*.tpl]), relative to the file; RELAY_TEMPLATES overrides it
//	senders:                          # optional; a kind may have a built-in sender of its name
//	  ops-room:
//	    type: KIND                    # a sender kind (cmd/relay/kinds.go lists them)
//	    limits: { destination: {count: 10, per: 10s}, token: {count: 300, per: 5m}, margin: 250ms }
//	                                  # a kind may call its destination limit otherwise (room)
//	    max_chars: 65535              # optional message size limit
//	    separator: "\n\n"             # optional, between coalesced messages
//	    token_env: OPS_TOKEN          # the kind's own keys; never a literal secret
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
//	      - sender: ops-room          # a built-in or a named sender
//	        template: ops             # optional custom template
//	        matchers: ['severity=~"critical|warning"', 'env!="dev"']
//	        room: "123456"            # the kind's own keys: where the target delivers
//
// Every *_env names an environment variable and every *_file a file (relative
// to the routes file) that holds the secret; both are read at load. The
// kinds' keys are in the README and in each kind's package.
type File struct {
	// Name is the file name as given, used in errors.
	Name string
	// Templates are the custom template directories, files and globs in
	// load order, resolved against the file's directory; none when not set.
	Templates []string
	// Senders are the senders the file defines, by name.
	Senders map[string]*senders.Config
	// Routes are the routes by name.
	Routes map[string]*Route
}

// Kinds are the sender kinds relay knows, by name.
type Kinds map[string]senders.Kind

// NewKinds returns the kinds by name.
func NewKinds(ks ...senders.Kind) Kinds {
	m := Kinds{}
	for _, k := range ks {
		m[k.Name()] = k
	}
	return m
}

// Direct returns the names of the kinds that take direct URLs
// (/v1/{source}/{kind}/{dest}), sorted. Kind.Direct answers ErrNoDirect for
// any destination of a kind that takes none, so one probe tells.
func (ks Kinds) Direct() []string {
	var out []string
	for name, k := range ks {
		if _, err := k.Direct("", nil); !errors.Is(err, senders.ErrNoDirect) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Load reads and parses the routes file at path. getenv and readFile
// resolve the secrets it names (os.Getenv and os.ReadFile in production).
func Load(path string, kinds Kinds, getenv func(string) string, readFile func(string) ([]byte, error)) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routes file: %w", err)
	}
	return Parse(path, data, kinds, getenv, readFile)
}

// Parse parses and checks a routes file. filename is used in errors and to
// resolve relative paths. Every error is an *Error with the line and the
// key path; unknown keys, duplicate keys and literal secrets are errors.
func Parse(filename string, data []byte, kinds Kinds, getenv func(string) string, readFile func(string) ([]byte, error)) (*File, error) {
	root, err := confyaml.Load(filename, data)
	if err != nil {
		return nil, err
	}
	p := &parser{kinds: kinds, src: confyaml.Source{Getenv: getenv, ReadFile: readFile, Dir: filepath.Dir(filename)}}
	return p.parseFile(root)
}

// parser holds what parsing needs besides the YAML.
type parser struct {
	kinds Kinds
	src   confyaml.Source
}

// fileDoc is the routes file's top level.
type fileDoc struct {
	Templates confyaml.List `yaml:"templates"`
	Senders   yaml.Node     `yaml:"senders"`
	Routes    yaml.Node     `yaml:"routes"`
}

func (p *parser) parseFile(root confyaml.Node) (*File, error) {
	if !root.IsNull() && root.Y.Kind != yaml.MappingNode {
		return nil, root.Errorf("want a mapping, got %s", root.Describe())
	}
	var doc fileDoc
	if err := root.Decode(&doc); err != nil {
		return nil, err
	}
	f := &File{Name: root.File, Senders: map[string]*senders.Config{}, Routes: map[string]*Route{}}
	for _, t := range doc.Templates {
		if t == "" {
			return nil, root.At("templates").Errorf("want a directory, file or glob, got an empty value")
		}
		f.Templates = append(f.Templates, p.src.Path(t))
	}
	if err := eachEntry(root.Key("senders"), func(name string, n confyaml.Node) error {
		s, err := p.sender(name, n)
		if err == nil {
			f.Senders[name] = s
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := eachEntry(root.Key("routes"), func(name string, n confyaml.Node) error {
		r, err := p.route(name, n, f.Senders)
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

// eachEntry calls fn for every name: value pair of the mapping n, in file
// order, checking the names.
func eachEntry(n confyaml.Node, fn func(name string, n confyaml.Node) error) error {
	if n.IsNull() {
		return nil
	}
	if n.Y.Kind != yaml.MappingNode {
		return n.Errorf("want a mapping of names, got %s", n.Describe())
	}
	seen := map[string]int{}
	for i := range n.Len() {
		name, at := n.Entry(i)
		if first, dup := seen[name]; dup {
			return at.Errorf("duplicate name (first at line %d)", first)
		}
		seen[name] = at.Line()
		if !namePattern.MatchString(name) {
			return at.Errorf("invalid name: use letters, digits, '_', '.' and '-'")
		}
		if err := fn(name, at); err != nil {
			return err
		}
	}
	return nil
}
