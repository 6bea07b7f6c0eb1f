// gotar reads tar archives with Go's archive/tar, the reader dockerd and podman extract layers
// with, and reports what it saw: the reference for imagegolf's own tar reader
// (tests/oci/test_tar_differential.py drives it through tests/oci/gotar.py).
//
// Protocol, so that one process serves thousands of cases: stdin carries frames, each an 8-byte
// big-endian length then that many bytes of one archive; for each frame stdout gets one JSON line
//
//	{"entries": [{"name": …, "name_hex": …, "typeflag": 48, "size": …, …}, …], "error": null}
//
// Entries are read until io.EOF or the first error; the entries read before an error are kept.
// Text fields come twice: as JSON text (invalid UTF-8 becomes U+FFFD) and as hex, exact.
// Standard library only: it is built offline by Debian's go (1.19).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// dataCap bounds the logical bytes read from one entry. Generated archives carry at most a few
// kilobytes, so only a sparse entry (holes read back as zeros) can reach it; without the cap a
// hostile sparse size of 2^60 would keep the harness hashing zeros forever.
const dataCap = 16 << 20

// frameCap refuses absurd frame lengths: a desynchronised stream, not an archive.
const frameCap = 1 << 30

type entry struct {
	Name        string            `json:"name"`
	NameHex     string            `json:"name_hex"`
	Typeflag    int               `json:"typeflag"`
	Size        int64             `json:"size"`
	Linkname    string            `json:"linkname"`
	LinknameHex string            `json:"linkname_hex"`
	Mode        int64             `json:"mode"`
	UID         int               `json:"uid"`
	GID         int               `json:"gid"`
	Mtime       int64             `json:"mtime"`
	Devmajor    int64             `json:"devmajor"`
	Devminor    int64             `json:"devminor"`
	Format      string            `json:"format"`
	SHA256      *string           `json:"sha256"`
	DataBytes   int64             `json:"data_bytes"`
	Xattrs      map[string]string `json:"xattrs,omitempty"` // hex(key) -> hex(value)
}

type result struct {
	Entries []entry `json:"entries"`
	Error   *string `json:"error"`
	// ErrorInData is true when the error came from reading an entry's data (io.Copy), not Next.
	ErrorInData bool `json:"error_in_data"`
}

// streamOnly hides bytes.Reader's Seek: layers reach the engines as decompressed streams, and
// archive/tar takes another path (Seek past the data) when its input can seek.
type streamOnly struct{ io.Reader }

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for {
		archive, err := readFrame(in)
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gotar:", err)
			os.Exit(2)
		}
		line, err := json.Marshal(readArchive(archive))
		if err != nil {
			fmt.Fprintln(os.Stderr, "gotar:", err)
			os.Exit(2)
		}
		out.Write(line)
		out.WriteByte('\n')
		if err := out.Flush(); err != nil {
			os.Exit(2) // the driver went away
		}
	}
}

func readFrame(in *bufio.Reader) ([]byte, error) {
	var length [8]byte
	if _, err := io.ReadFull(in, length[:]); err != nil {
		return nil, err // io.EOF between frames is the clean end
	}
	n := binary.BigEndian.Uint64(length[:])
	if n > frameCap {
		return nil, fmt.Errorf("frame of %d bytes: the stream is out of step", n)
	}
	archive := make([]byte, n)
	if _, err := io.ReadFull(in, archive); err != nil {
		return nil, fmt.Errorf("frame cut short: %w", err)
	}
	return archive, nil
}

// readArchive walks the archive as an extractor does: Next, then all of the entry's data.
// A panic inside archive/tar is reported as the case's error rather than killing the server.
func readArchive(archive []byte) (res result) {
	res.Entries = []entry{}
	defer func() {
		if p := recover(); p != nil {
			text := fmt.Sprintf("panic: %v", p)
			res.Error = &text
		}
	}()
	tr := tar.NewReader(streamOnly{bytes.NewReader(archive)})
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return res
		}
		if err != nil {
			res.Error = errorText(err)
			return res
		}
		e, err := describe(hdr, tr)
		res.Entries = append(res.Entries, e)
		if err != nil {
			res.Error = errorText(err)
			res.ErrorInData = true
			return res
		}
	}
}

// describe reads the entry's data through tr (io.Copy, as extraction does: a short data section
// is an error here or at the next Next) and hashes it for regular files.
func describe(hdr *tar.Header, tr *tar.Reader) (entry, error) {
	e := entry{
		Name:        hdr.Name,
		NameHex:     hex.EncodeToString([]byte(hdr.Name)),
		Typeflag:    int(hdr.Typeflag),
		Size:        hdr.Size,
		Linkname:    hdr.Linkname,
		LinknameHex: hex.EncodeToString([]byte(hdr.Linkname)),
		Mode:        hdr.Mode,
		UID:         hdr.Uid,
		GID:         hdr.Gid,
		Mtime:       hdr.ModTime.Unix(),
		Devmajor:    hdr.Devmajor,
		Devminor:    hdr.Devminor,
		Format:      hdr.Format.String(),
	}
	// Xattrs (the SCHILY.xattr.* records) is deprecated, but it is what the engines apply.
	if len(hdr.Xattrs) > 0 {
		e.Xattrs = map[string]string{}
		for k, v := range hdr.Xattrs {
			e.Xattrs[hex.EncodeToString([]byte(k))] = hex.EncodeToString([]byte(v))
		}
	}
	var sink io.Writer = io.Discard
	var digest hash.Hash
	if hdr.Typeflag == tar.TypeReg {
		digest = sha256.New()
		sink = digest
	}
	n, err := io.Copy(sink, io.LimitReader(tr, dataCap+1))
	e.DataBytes = n
	if err == nil && n > dataCap {
		err = errors.New("gotar: entry data exceeds the harness cap of 16 MiB")
	}
	if digest != nil {
		sum := hex.EncodeToString(digest.Sum(nil))
		e.SHA256 = &sum
	}
	return e, err
}

func errorText(err error) *string {
	text := err.Error()
	return &text
}
