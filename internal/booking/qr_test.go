package booking

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// The mail's QR code is the booking page's: the same code, module by
// module (read at each module's centre), with its white border.
func TestCodePNG(t *testing.T) {
	const code = "AP-ABCDEFGH"
	data, err := CodePNG(code)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want, err := qr.Encode(code, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	n := want.Bounds().Dx()
	if side := img.Bounds().Dx(); side != (n+2*qrQuiet)*qrModule || img.Bounds().Dy() != side {
		t.Fatalf("the image is %v for %d modules", img.Bounds(), n)
	}
	dark := func(x, y int) bool {
		r, _, _, _ := img.At(x, y).RGBA()
		return r < 0x8000
	}
	for y := -qrQuiet; y < n+qrQuiet; y++ {
		for x := -qrQuiet; x < n+qrQuiet; x++ {
			got := dark((x+qrQuiet)*qrModule+qrModule/2, (y+qrQuiet)*qrModule+qrModule/2)
			in := x >= 0 && y >= 0 && x < n && y < n
			if w := in && want.At(want.Bounds().Min.X+x, want.Bounds().Min.Y+y) == color.Black; got != w {
				t.Fatalf("module (%d, %d) is dark: %v, want %v", x, y, got, w)
			}
		}
	}
	if len(data) > 4<<10 {
		t.Errorf("the QR code is %d bytes", len(data))
	}
}
