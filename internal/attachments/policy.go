package attachments

import "slices"

// Policy is what one use of uploads accepts: which types, how large, and
// how strictly they are checked.
type Policy struct {
	// Types are the accepted types (DefaultPolicy's when empty).
	Types []Type
	// MaxSize is the largest file accepted, in bytes (DefaultMaxSize if 0).
	MaxSize int64
	// Limits bound the checks (DefaultLimits if zero).
	Limits Limits
	// RefuseScripts refuses PDFs that carry JavaScript, launch actions or
	// embedded files: what residents upload must be a document, not a
	// program. The town's own fillable forms may keep theirs.
	RefuseScripts bool
}

// DefaultMaxSize is the largest file accepted unless a Policy says
// otherwise: 20 MiB.
const DefaultMaxSize = 20 << 20

// DefaultPolicy is what residents' uploads accept unless a feature says
// otherwise: documents (PDF without scripts, ODT, DOCX) and photographs
// (PNG, JPEG) of at most 20 MiB.
var DefaultPolicy = Policy{Types: Types, MaxSize: DefaultMaxSize, Limits: DefaultLimits, RefuseScripts: true}

// Max is the largest file accepted, in bytes.
func (p Policy) Max() int64 {
	if p.MaxSize > 0 {
		return p.MaxSize
	}
	return DefaultMaxSize
}

func (p Policy) limits() Limits {
	l := p.Limits
	if l.MaxExpanded == 0 {
		l.MaxExpanded = DefaultLimits.MaxExpanded
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxPixels == 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	return l
}

func (p Policy) accepts(t Type) bool {
	if len(p.Types) == 0 {
		return slices.Contains(DefaultPolicy.Types, t)
	}
	return slices.Contains(p.Types, t)
}

// Accept is the file chooser's hint for the policy's types (extensions
// and media types); the server checks the content anyway.
func (p Policy) Accept() string {
	types := p.Types
	if len(types) == 0 {
		types = DefaultPolicy.Types
	}
	var out []byte
	for i, t := range types {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, "."+t.Ext+","+t.MediaType...)
		if t == JPEG {
			out = append(out, ",.jpeg"...)
		}
	}
	return string(out)
}
