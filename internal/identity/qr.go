package identity

import (
	"fmt"
	"image/color"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// QR is a QR code drawn as SVG: Path is the path data of its dark modules,
// one unit per module, Size the modules per side plus the quiet zone. An
// inline SVG needs no image request, and stays sharp at any zoom.
type QR struct {
	Path string
	Size int
}

// quietZone is the white border a QR code needs around it, in modules.
const quietZone = 4

// NewQR encodes text (an otpauth:// address) as a QR code.
func NewQR(text string) (*QR, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := code.Bounds()
	var path strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if code.At(x, y) == color.Black {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x-b.Min.X+quietZone, y-b.Min.Y+quietZone)
			}
		}
	}
	return &QR{Path: path.String(), Size: b.Dx() + 2*quietZone}, nil
}
