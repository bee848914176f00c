package sportello

import (
	"context"
	"io"
)

// FileInfo is what the Sportello keeps of an uploaded file.
type FileInfo struct {
	ID, Filename, MediaType, SHA256 string
	Size                            int64
}

// Files is what the Sportello asks of the attachments: the file an id
// names when owner uploaded it (not found otherwise), and its bytes.
type Files interface {
	Info(ctx context.Context, id, owner string) (FileInfo, error)
	Open(ctx context.Context, id string) (io.ReadSeekCloser, FileInfo, error)
}
