package attachments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// detectPNG walks a PNG's chunks: IHDR first (13 bytes, sane dimensions),
// each chunk's CRC right, IEND last and at the very end of the file, so
// that nothing rides after the image (a ZIP or a script made to look like
// a PNG).
func (l Limits) detectPNG(r io.ReaderAt, size int64) (Type, error) {
	sig := make([]byte, 8)
	if _, err := r.ReadAt(sig, 0); err != nil || !bytes.Equal(sig, pngSignature) {
		return refuse(ErrType, "PNG signature")
	}
	off := int64(8)
	hdr := make([]byte, 8)
	buf := make([]byte, 32<<10)
	for n := 0; ; n++ {
		if off+12 > size {
			return refuse(ErrType, "PNG ends before IEND")
		}
		if _, err := r.ReadAt(hdr, off); err != nil {
			return Type{}, err
		}
		length := int64(binary.BigEndian.Uint32(hdr[:4]))
		kind := string(hdr[4:8])
		if length > 1<<31-1 || off+12+length > size {
			return refuse(ErrType, "PNG chunk "+kind+" runs past the end")
		}
		switch {
		case n == 0 && (kind != "IHDR" || length != 13):
			return refuse(ErrType, "PNG without IHDR first")
		case n == 0:
			ihdr := make([]byte, 13)
			if _, err := r.ReadAt(ihdr, off+8); err != nil {
				return Type{}, err
			}
			w, h := int64(binary.BigEndian.Uint32(ihdr[0:4])), int64(binary.BigEndian.Uint32(ihdr[4:8]))
			if w == 0 || h == 0 {
				return refuse(ErrType, "PNG of zero pixels")
			}
			if w*h > l.MaxPixels {
				return refuse(ErrExpands, fmt.Sprintf("PNG of %dx%d pixels", w, h))
			}
		}
		crc := crc32.NewIEEE()
		_, _ = crc.Write(hdr[4:8]) // a hash.Hash never returns an error
		if _, err := io.CopyBuffer(crc, io.NewSectionReader(r, off+8, length), buf); err != nil {
			return Type{}, err
		}
		want := make([]byte, 4)
		if _, err := r.ReadAt(want, off+8+length); err != nil && !errors.Is(err, io.EOF) {
			return Type{}, err
		}
		if crc.Sum32() != binary.BigEndian.Uint32(want) {
			return refuse(ErrType, "PNG chunk "+kind+" with a wrong CRC")
		}
		off += 12 + length
		if kind == "IEND" {
			if off != size {
				return refuse(ErrType, fmt.Sprintf("%d bytes after the PNG's end", size-off))
			}
			return PNG, nil
		}
	}
}

// detectJPEG walks a JPEG's segments from the start-of-image marker to the
// start of scan, checking that a frame header gives sane dimensions, then
// looks for the end-of-image marker after the scan. Bytes after the end
// are accepted: phones append their own data there.
func (l Limits) detectJPEG(r io.ReaderAt, size int64) (Type, error) {
	b := make([]byte, 4)
	if _, err := r.ReadAt(b[:3], 0); err != nil || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF {
		return refuse(ErrType, "JPEG start of image")
	}
	off := int64(2)
	frame := false
	for {
		if off+4 > size {
			return refuse(ErrType, "JPEG ends before the scan")
		}
		if _, err := r.ReadAt(b, off); err != nil {
			return Type{}, err
		}
		if b[0] != 0xFF {
			return refuse(ErrType, fmt.Sprintf("JPEG marker expected at %d", off))
		}
		marker := b[1]
		if marker == 0xFF { // fill byte
			off++
			continue
		}
		if marker == 0xD8 || marker == 0xD9 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			return refuse(ErrType, fmt.Sprintf("JPEG marker %#x before the scan", marker))
		}
		length := int64(binary.BigEndian.Uint16(b[2:4]))
		if length < 2 || off+2+length > size {
			return refuse(ErrType, fmt.Sprintf("JPEG segment %#x runs past the end", marker))
		}
		// Frame headers: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			sof := make([]byte, 5)
			if length < 8 {
				return refuse(ErrType, "JPEG frame header too short")
			}
			if _, err := r.ReadAt(sof, off+4); err != nil {
				return Type{}, err
			}
			h, w := int64(binary.BigEndian.Uint16(sof[1:3])), int64(binary.BigEndian.Uint16(sof[3:5]))
			if w == 0 || h == 0 {
				return refuse(ErrType, "JPEG of zero pixels")
			}
			if w*h > l.MaxPixels {
				return refuse(ErrExpands, fmt.Sprintf("JPEG of %dx%d pixels", w, h))
			}
			frame = true
		}
		off += 2 + length
		if marker == 0xDA { // start of scan: the entropy-coded data follows
			break
		}
	}
	if !frame {
		return refuse(ErrType, "JPEG without a frame header")
	}
	// The scan ends at an FFD9 (FF in the data is always followed by 00 or
	// a restart marker): look for it.
	buf := make([]byte, 64<<10)
	prev := byte(0)
	for pos := off; pos < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		for i := range n {
			if prev == 0xFF && buf[i] == 0xD9 {
				return JPEG, nil
			}
			prev = buf[i]
		}
		pos += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return Type{}, err
		}
		if n == 0 {
			break
		}
	}
	return refuse(ErrType, "JPEG without an end of image (truncated?)")
}
