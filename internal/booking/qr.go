package booking

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// The booking's code as a QR code in its mails: the same code the booking's
// page draws (identity.NewQR: the code's text, level M), as a PNG file,
// since mail programs show no SVG. The code is written out in the mail's
// text beside it: the QR code only saves typing it at the kiosk.

const (
	// qrModule is the side of a module in pixels, and qrQuiet the white
	// border in modules: a booking code is 21 modules, 232 pixels a side,
	// readable from a phone's screen.
	qrModule = 8
	qrQuiet  = 4
	// QRFile is the name of the mails' QR code file.
	QRFile = "codice-prenotazione.png"
)

// CodePNG draws the booking code as a QR code, in PNG.
func CodePNG(code string) ([]byte, error) {
	c, err := qr.Encode(code, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := c.Bounds()
	side := (b.Dx() + 2*qrQuiet) * qrModule
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c.At(x, y) != color.Black {
				continue
			}
			x0, y0 := (x-b.Min.X+qrQuiet)*qrModule, (y-b.Min.Y+qrQuiet)*qrModule
			for dy := range qrModule {
				for dx := range qrModule {
					img.SetColorIndex(x0+dx, y0+dy, 1)
				}
			}
		}
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
