package testenv

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// Sizes of the per-connection buffers.
const (
	writeBufSize = 64 * 1024 // bufio.Writer of every connection
	readBufMin   = 4 * 1024  // a read buffer starts here and doubles on full reads
	readBufMax   = 64 * 1024 // … up to here (or to the largest PDU seen)
	maxRecords   = 200_000   // records kept by an SMSC or an ESME; later ones are counted, not kept
)

// Errors.
var (
	// ErrClosed is returned by operations on a closed SMSC, session or ESME.
	ErrClosed = errors.New("testenv: closed")
	// ErrNoSession is wrapped by SendMO, SendReceipt, SendPDU and SendEnquireLink
	// when no suitable bound session of the system_id appeared before ctx ended.
	ErrNoSession = errors.New("testenv: no suitable bound session")
)

// StatusError reports that a peer answered a request with a non-zero
// command_status, e.g. "testenv: bind refused: ESME_RINVPASWD".
type StatusError struct {
	Op     string // what was refused: "bind", "enquire_link", "unbind", …
	Status pdu.Status
}

func (e *StatusError) Error() string {
	return "testenv: " + e.Op + " refused: " + e.Status.String()
}

// Direction says whether a recorded PDU was received or sent by the peer that
// recorded it.
type Direction uint8

const (
	In  Direction = iota + 1 // received (by the SMSC simulator, or by the ESME client)
	Out                      // sent
)

func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// Record is one PDU that crossed the wire, as the simulator or the client saw it.
type Record struct {
	At       time.Time
	Session  uint64 // the simulator's session id; 0 for the ESME client
	SystemID string // the session's bound system_id ("" before bind and for the ESME client)
	Dir      Direction
	Raw      []byte // a copy of the whole PDU
	Header   pdu.Header
}

func newRecord(session uint64, systemID string, dir Direction, p []byte) Record {
	h, _ := pdu.ParseHeader(p)
	return Record{
		At:       time.Now(),
		Session:  session,
		SystemID: systemID,
		Dir:      dir,
		Raw:      append([]byte(nil), p...),
		Header:   h,
	}
}

// String formats the record for test failure messages.
func (r Record) String() string {
	return fmt.Sprintf("%s session=%d system_id=%q %s status=%s seq=%d len=%d",
		r.Dir, r.Session, r.SystemID, r.Header.ID, r.Header.Status, r.Header.Seq, len(r.Raw))
}

// frameReader reads a connection into one reusable buffer and frames PDUs in
// place. The PDU next returns is a sub-slice of the buffer, valid until the next
// call. Before it blocks in Read it calls onDrain: that is when the owner flushes
// what it wrote while processing the PDUs already read (flush-on-drain).
type frameReader struct {
	conn    net.Conn
	maxLen  uint32
	onDrain func()
	buf     []byte
	r, w    int   // unprocessed bytes are buf[r:w]
	err     error // a read error, returned once buffered PDUs are processed
}

func newFrameReader(conn net.Conn, maxLen uint32, onDrain func()) *frameReader {
	if maxLen == 0 {
		maxLen = pdu.DefaultMaxLen
	}
	return &frameReader{conn: conn, maxLen: maxLen, onDrain: onDrain, buf: make([]byte, readBufMin)}
}

// next returns the next whole PDU. A framing error (command_length out of
// range) is a *pdu.StatusError with ESME_RINVCMDLEN; the stream cannot be read
// any further after it.
func (fr *frameReader) next() ([]byte, error) {
	for {
		if fr.r < fr.w {
			n, err := pdu.Frame(fr.buf[fr.r:fr.w], fr.maxLen)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				p := fr.buf[fr.r : fr.r+n : fr.r+n]
				fr.r += n
				return p, nil
			}
		}
		if fr.err != nil {
			return nil, fr.err
		}
		if fr.r == fr.w {
			fr.r, fr.w = 0, 0
		}
		if fr.onDrain != nil {
			fr.onDrain()
		}
		// Room for at least the rest of the PDU in progress.
		need := pdu.HeaderLen
		if fr.w-fr.r >= 4 {
			need = int(binary.BigEndian.Uint32(fr.buf[fr.r:])) // ≤ maxLen: Frame checked it
		}
		if fr.r > 0 && len(fr.buf)-fr.r < max(need, len(fr.buf)/2) {
			fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
			fr.r = 0
		}
		if len(fr.buf)-fr.r < need {
			nb := make([]byte, max(need, 2*len(fr.buf)))
			fr.w = copy(nb, fr.buf[fr.r:fr.w])
			fr.r = 0
			fr.buf = nb
		}
		n, err := fr.conn.Read(fr.buf[fr.w:])
		fr.w += n
		if err != nil {
			fr.err = err
		}
		// A read that filled the buffer: the peer sends faster than one buffer
		// per read, so a bigger one saves syscalls.
		if fr.w == len(fr.buf) && len(fr.buf) < readBufMax {
			nb := make([]byte, 2*len(fr.buf))
			fr.w = copy(nb, fr.buf[fr.r:fr.w])
			fr.r = 0
			fr.buf = nb
		}
	}
}

// outbuf is the write side of a connection: a mutex-protected bufio.Writer that
// the reader flushes when it has drained its input and that synchronous senders
// flush themselves. A write or flush error closes the connection, which ends
// the reader.
type outbuf struct {
	conn net.Conn
	mu   sync.Mutex
	bw   *bufio.Writer // guarded by mu
	err  error         // guarded by mu; the first write error
}

func newOutbuf(conn net.Conn) *outbuf {
	return &outbuf{conn: conn, bw: bufio.NewWriterSize(conn, writeBufSize)}
}

// writeLocked appends p to the buffer; the caller holds mu.
func (o *outbuf) writeLocked(p []byte) error {
	if o.err != nil {
		return o.err
	}
	if _, err := o.bw.Write(p); err != nil {
		o.failLocked(err)
		return o.err
	}
	return nil
}

// flushLocked writes out what is buffered; the caller holds mu.
func (o *outbuf) flushLocked() error {
	if o.err != nil {
		return o.err
	}
	if o.bw.Buffered() == 0 {
		return nil
	}
	if err := o.bw.Flush(); err != nil {
		o.failLocked(err)
		return o.err
	}
	return nil
}

func (o *outbuf) failLocked(err error) {
	o.err = fmt.Errorf("testenv: write: %w", err)
	o.conn.Close()
}

// write buffers p without flushing.
func (o *outbuf) write(p []byte) error {
	o.mu.Lock()
	err := o.writeLocked(p)
	o.mu.Unlock()
	return err
}

// writeFlush buffers p and flushes.
func (o *outbuf) writeFlush(p []byte) error {
	o.mu.Lock()
	err := o.writeLocked(p)
	if err == nil {
		err = o.flushLocked()
	}
	o.mu.Unlock()
	return err
}

// flush writes out whatever is buffered.
func (o *outbuf) flush() error {
	o.mu.Lock()
	err := o.flushLocked()
	o.mu.Unlock()
	return err
}

// recorder keeps records up to maxRecords and wakes those waiting for new ones.
type recorder struct {
	mu      sync.Mutex
	recs    []Record      // guarded by mu
	dropped int           // guarded by mu: records beyond maxRecords
	changed chan struct{} // guarded by mu; closed (and cleared) on append; nil when nobody waits
}

func (r *recorder) add(rec Record) {
	r.mu.Lock()
	if len(r.recs) < maxRecords {
		r.recs = append(r.recs, rec)
	} else {
		r.dropped++
	}
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.mu.Unlock()
}

func (r *recorder) all() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.recs...)
}

// waitFor returns the first record (past or future) that match accepts.
func (r *recorder) waitFor(ctx context.Context, done <-chan struct{}, match func(Record) bool) (Record, error) {
	seen := 0
	for {
		r.mu.Lock()
		recs := r.recs[seen:len(r.recs):len(r.recs)]
		seen = len(r.recs)
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		for _, rec := range recs {
			if match(rec) {
				return rec, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Record{}, fmt.Errorf("testenv: waiting for a matching record (%d seen): %w", seen, ctx.Err())
		case <-done:
			// Closed: look at what arrived before the close, then give up.
			r.mu.Lock()
			recs = r.recs[seen:len(r.recs):len(r.recs)]
			r.mu.Unlock()
			for _, rec := range recs {
				if match(rec) {
					return rec, nil
				}
			}
			return Record{}, fmt.Errorf("testenv: waiting for a matching record: %w", ErrClosed)
		}
	}
}

// closeErr turns the error that ended a reader into the reason a connection closed.
func closeErr(err error) error {
	switch {
	case err == nil:
		return ErrClosed
	case errors.Is(err, io.EOF):
		return fmt.Errorf("testenv: connection closed by peer: %w", err)
	case errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("testenv: connection: %w", err)
}

// cstringAt reads a C-octet string of at most max octets (NUL included) at off.
func cstringAt(p []byte, off, max int) (s []byte, next int, ok bool) {
	if off > len(p) {
		return nil, off, false
	}
	rest := p[off:]
	if len(rest) > max {
		rest = rest[:max]
	}
	for i, c := range rest {
		if c == 0 {
			return rest[:i:i], off + i + 1, true
		}
	}
	return nil, off, false
}
