// Package certtest reads back what a certificate's PDF shows, for the
// tests of certificates and of the pages that issue them.
package certtest

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"

	"github.com/boombuler/barcode/qr"
)

var rectRE = regexp.MustCompile(`([\d.]+) ([\d.]+) ([\d.]+) (-?[\d.]+) re f`)

// ErrNoQR: the PDF draws no QR code.
var ErrNoQR = errors.New("no QR code on the page")

// QRIs reads the QR code drawn on a certificate's page (its filled
// squares, in the page's compressed content streams) and tells whether
// its modules are, one by one, those of want's QR code (error correction
// M, as certificates draws it): whether a phone that reads the code opens
// want.
func QRIs(pdf []byte, want string) (bool, error) {
	var squares [][2]float64
	var size float64
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			break
		}
		rest = rest[i+len("stream\n"):]
		j := bytes.Index(rest, []byte("endstream"))
		if j < 0 {
			break
		}
		zr, err := zlib.NewReader(bytes.NewReader(rest[:j]))
		if err != nil {
			continue
		}
		text, _ := io.ReadAll(zr)
		for _, m := range rectRE.FindAllStringSubmatch(string(text), -1) {
			x, _ := strconv.ParseFloat(m[1], 64)
			y, _ := strconv.ParseFloat(m[2], 64)
			w, _ := strconv.ParseFloat(m[3], 64)
			squares, size = append(squares, [2]float64{x, y}), w
		}
	}
	if len(squares) == 0 {
		return false, ErrNoQR
	}
	minX, maxY := math.Inf(1), math.Inf(-1)
	for _, q := range squares {
		minX, maxY = math.Min(minX, q[0]), math.Max(maxY, q[1])
	}
	got := map[[2]int]bool{}
	for _, q := range squares {
		got[[2]int{int(math.Round((q[0] - minX) / size)), int(math.Round((maxY - q[1]) / size))}] = true
	}
	code, err := qr.Encode(want, qr.M, qr.Auto)
	if err != nil {
		return false, err
	}
	bnd := code.Bounds()
	wantSet := map[[2]int]bool{}
	mi, mj := math.MaxInt, math.MaxInt
	for i := 0; i < bnd.Dx(); i++ {
		for j := 0; j < bnd.Dy(); j++ {
			if r, _, _, _ := code.At(bnd.Min.X+i, bnd.Min.Y+j).RGBA(); r == 0 {
				wantSet[[2]int{i, j}] = true
				mi, mj = min(mi, i), min(mj, j)
			}
		}
	}
	if len(got) != len(wantSet) {
		return false, nil
	}
	for k := range wantSet {
		if !got[[2]int{k[0] - mi, k[1] - mj}] {
			return false, nil
		}
	}
	return true, nil
}
