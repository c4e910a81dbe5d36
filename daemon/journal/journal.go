// Package journal is halld's single source of truth: an append-only log of hall
// events with a gap-free sequence number, kept in SQLite (WAL, synchronous=FULL)
// so that an event is on disk before anyone is told it happened.
//
// There is one writer (the engine); readers follow the log by cursor, which
// serves live delivery, resume after a disconnect and replay after a crash
// with one mechanism.
//
// An append is durable once it is in the write-ahead file <db>.log: one
// write and one fdatasync, nothing else (an SQLite commit was ~10 syscalls
// and twice the CPU). A goroutine of the journal moves what the log holds
// into SQLite in batches (one transaction and fsync per ~20 ms of events),
// off the writer's path; recent records are served from memory meanwhile,
// and Open moves whatever a crash left in the log into SQLite before
// anything reads. The log is emptied once SQLite holds all of it.
package journal

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // pure Go: halld builds with CGO_ENABLED=0
)

// Record is one journal entry. Body is the full JSON event object exactly as
// consumers see it (it already carries seq, id, ts and type).
type Record struct {
	Seq  uint64
	ID   string
	Type string
	TS   time.Time
	Body []byte
}

// ErrGap means an append did not continue the sequence: a programming error
// in the writer, refused so the log can never hold a gap or a duplicate.
var ErrGap = errors.New("journal: sequence gap")

// Journal is safe for one writer and many readers.
type Journal struct {
	db   *sql.DB
	ins  *sql.Stmt // prepared once: parsing the INSERT on every append cost ~10% of halld's CPU
	path string

	lat latency // commit durations (CommitLatency)

	amu     sync.Mutex // the writer: Append, and emptying the log
	log     *os.File   // <path>.log: what is durable and maybe not yet in SQLite
	logOff  int64      // where the next frame goes
	logSize int64      // the log file's size: written, zeros past logOff
	frame   []byte     // Append's encoding buffer

	fmu       sync.Mutex // one flush at a time
	kickFlush chan struct{}
	stopFlush chan struct{}
	flushDone chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	head     uint64
	oldest   uint64   // first seq still held (after pruning); 0 when empty
	flushed  uint64   // last seq SQLite holds
	pending  []Record // in the log, not yet in SQLite (all of them are in ring too)
	flushErr error    // the last flush's outcome
	changed  chan struct{}
	ring     []Record // recent records, for readers that keep up
	ringCap  int
	ringIDs  map[string]struct{} // the ids in ring: a duplicate id is refused at once
}

// FlushDelay is how long the journal gathers appended records before it
// moves them into SQLite in one transaction.
const FlushDelay = 20 * time.Millisecond

// maxPending: past this many records not yet in SQLite, Append moves them
// itself (back-pressure on the writer rather than unbounded memory).
const maxPending = 50000

// logLimit: the log starts again from its beginning once it is this large
// and SQLite holds all of it; Close empties it.
const logLimit = 8 << 20

// logGrow is how far ahead of its next frame the log's file is kept written
// (with zeros). A frame written over bytes the file already has changes no
// metadata, so its fdatasync flushes the data alone; on ext4 a write that
// grows the file also commits the filesystem's own journal (issue 15: 50 →
// 32 µs of CPU a commit on this VM, and less wall time). A zero length is no
// frame, so zeros end the log for openLog; when the log starts again from
// its beginning, what follows the new frames is older frames, which openLog
// skips (SQLite holds them: the log starts again only then).
const logGrow = 1 << 20

var zeroChunk [logGrow]byte

// Options tune the journal; the zero value is fine.
type Options struct {
	// RingSize is how many recent records are kept in memory for readers.
	RingSize int
}

// Open opens (or creates) the journal at path.
//
// The journal holds citizens' ratings and comments, ticket and appointment
// data: the database and its -wal and -shm files are made 0600 whatever the
// umask, and an existing journal's files are tightened to 0600 at open. A
// directory Open creates is 0750.
func Open(path string, opts Options) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// SQLite creates a database 0644 &^ umask, and its -wal and -shm with the
	// database file's mode: create the file ourselves, 0600.
	if err := createPrivate(path, false); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := tightenFiles(path); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// _txlock=immediate: the writer takes the lock at BEGIN, so a commit never
	// fails half way on a busy reader. synchronous(FULL) fsyncs the WAL on
	// every commit: durability is the point of this package.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(`
CREATE TABLE IF NOT EXISTS events (
  seq  INTEGER PRIMARY KEY,
  id   TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  ts   INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  name TEXT PRIMARY KEY,
  seq  INTEGER NOT NULL,
  body BLOB NOT NULL
);`); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: schema %s: %w", path, err)
	}
	if err := tightenFiles(path); err != nil { // the -wal and -shm exist now
		db.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	if opts.RingSize <= 0 {
		opts.RingSize = 4096
	}
	ins, err := db.Prepare(`INSERT INTO events(seq,id,type,ts,body) VALUES(?,?,?,?,?)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: prepare: %w", err)
	}
	j := &Journal{db: db, ins: ins, path: path, changed: make(chan struct{}), ringCap: opts.RingSize, ringIDs: map[string]struct{}{},
		kickFlush: make(chan struct{}, 1), stopFlush: make(chan struct{}), flushDone: make(chan struct{})}
	var head, oldest sql.NullInt64
	if err := db.QueryRow(`SELECT MAX(seq), MIN(seq) FROM events`).Scan(&head, &oldest); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: read head: %w", err)
	}
	j.head, j.oldest = uint64(head.Int64), uint64(oldest.Int64)
	// A pruned journal keeps its head in meta so numbering never restarts.
	if v, ok, err := j.Meta("head_floor"); err == nil && ok {
		var floor uint64
		fmt.Sscan(v, &floor)
		if floor > j.head {
			j.head = floor
		}
	}
	// What a crash left in the log goes into SQLite before anyone reads.
	if err := j.openLog(); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	j.flushed = j.head
	go j.flusher()
	return j, nil
}

// openLog opens <path>.log (0600) and moves the records a crash left in it
// into SQLite, then empties it. A torn last frame (a crash during its
// write, so never acknowledged) ends the log.
func (j *Journal) openLog() error {
	lp := j.path + ".log"
	_, statErr := os.Stat(lp)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		f.Chmod(0o600)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		syncDir(filepath.Dir(lp)) // the new log's name is durable too
	}
	j.log = f
	data, err := os.ReadFile(lp)
	if err != nil {
		return err
	}
	var recs []Record
	next := j.head + 1
	for off := 0; ; {
		r, n, ok := decodeFrame(data[off:])
		if !ok {
			break
		}
		off += n
		if r.Seq < next {
			continue // already in SQLite
		}
		if r.Seq != next {
			return fmt.Errorf("log %s: seq %d where %d was due", lp, r.Seq, next)
		}
		recs = append(recs, r)
		next++
	}
	if len(recs) > 0 {
		if err := j.insert(context.Background(), recs); err != nil {
			return fmt.Errorf("recover %d records from %s: %w", len(recs), lp, err)
		}
		j.head = recs[len(recs)-1].Seq
		if j.oldest == 0 {
			j.oldest = recs[0].Seq
		}
	}
	if len(data) > 0 {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	j.logOff, j.logSize = 0, 0
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// A frame is len u32 | crc32c(payload) u32 | payload, and the payload
// seq u64 | ts (Unix ms) i64 | len(id) u16 | id | len(type) u16 | type | body.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendFrame(b []byte, r Record) []byte {
	n := 8 + 8 + 2 + len(r.ID) + 2 + len(r.Type) + len(r.Body)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, r.Seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.TS.UnixMilli()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.ID)))
	b = append(b, r.ID...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Type)))
	b = append(b, r.Type...)
	b = append(b, r.Body...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

func decodeFrame(b []byte) (r Record, size int, ok bool) {
	if len(b) < 8 {
		return r, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 20 || len(b) < 8+n {
		return r, 0, false
	}
	p := b[8 : 8+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return r, 0, false
	}
	r.Seq = binary.LittleEndian.Uint64(p)
	r.TS = time.UnixMilli(int64(binary.LittleEndian.Uint64(p[8:])))
	p = p[16:]
	l := int(binary.LittleEndian.Uint16(p))
	if len(p) < 2+l+2 {
		return r, 0, false
	}
	r.ID = string(p[2 : 2+l])
	p = p[2+l:]
	l = int(binary.LittleEndian.Uint16(p))
	if len(p) < 2+l {
		return r, 0, false
	}
	r.Type = string(p[2 : 2+l])
	r.Body = append([]byte(nil), p[2+l:]...)
	return r, 8 + n, true
}

// insert writes recs into SQLite in one transaction.
func (j *Journal) insert(ctx context.Context, recs []Record) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: begin: %w", err)
	}
	stmt := tx.StmtContext(ctx, j.ins)
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, int64(r.Seq), r.ID, r.Type, r.TS.UnixMilli(), r.Body); err != nil {
			stmt.Close()
			tx.Rollback()
			return fmt.Errorf("journal: insert seq %d: %w", r.Seq, err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: commit: %w", err)
	}
	return nil
}

// flusher moves appended records into SQLite, FlushDelay after the first
// of them; it sleeps while nothing is appended.
func (j *Journal) flusher() {
	defer close(j.flushDone)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-j.stopFlush:
			return
		case <-j.kickFlush:
		}
		t.Reset(FlushDelay)
		select {
		case <-j.stopFlush:
			t.Stop()
			return
		case <-t.C:
		}
		if err := j.flush(); err != nil {
			// Append sees it and retries itself; a failing disk
			// refuses appends rather than growing the log forever.
			continue
		}
		j.maybeEmptyLog()
	}
}

// flush moves every pending record into SQLite.
func (j *Journal) flush() error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	j.mu.Lock()
	recs := j.pending
	j.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := j.insert(context.Background(), recs)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.flushErr = err
	if err != nil {
		return err
	}
	j.flushed = recs[len(recs)-1].Seq
	j.pending = append(j.pending[:0:0], j.pending[len(recs):]...)
	return nil
}

// maybeEmptyLog starts the log again from its beginning once it is large
// and SQLite holds all of it. The file keeps its size and its bytes: the
// next frames overwrite them, so no commit grows the file (logGrow).
func (j *Journal) maybeEmptyLog() {
	j.amu.Lock()
	defer j.amu.Unlock()
	if j.logOff < logLimit || !j.allFlushed() {
		return
	}
	j.logOff = 0
}

func (j *Journal) allFlushed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending) == 0
}

// emptyLog truncates the log if SQLite holds all of it; amu is held. Close
// does: a journal that was stopped cleanly leaves an empty log, so a backup
// restored in its place never meets frames from after the backup.
func (j *Journal) emptyLog() {
	if !j.allFlushed() || j.logSize == 0 {
		return
	}
	if err := j.log.Truncate(0); err != nil {
		return
	}
	if err := j.log.Sync(); err != nil {
		return
	}
	j.logOff, j.logSize = 0, 0
}

// Path is the database file.
func (j *Journal) Path() string { return j.path }

// Head is the last durable seq (0 when empty).
func (j *Journal) Head() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.head
}

// Oldest is the first seq still held, or Head()+1 when nothing is held.
func (j *Journal) Oldest() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.oldest == 0 {
		return j.head + 1
	}
	return j.oldest
}

// Changed returns a channel closed at the next successful append.
func (j *Journal) Changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.changed
}

// Append makes recs durable (one write and fdatasync of the log); they must
// continue the sequence. When it returns nil every record is durable.
func (j *Journal) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	j.amu.Lock()
	defer j.amu.Unlock()
	j.mu.Lock()
	failing, backlog := j.flushErr, len(j.pending)
	j.mu.Unlock()
	if failing != nil || backlog > maxPending {
		// SQLite is failing (a full disk) or far behind: move what is
		// pending first, so nothing is acknowledged that cannot be stored.
		if err := j.flush(); err != nil {
			return err
		}
	}
	head := j.Head()
	for i, r := range recs {
		if r.Seq != head+1+uint64(i) {
			return fmt.Errorf("%w: have head %d, record %d has seq %d", ErrGap, head, i, r.Seq)
		}
	}
	if err := j.checkIDs(recs); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	b := j.frame[:0]
	for _, r := range recs {
		b = appendFrame(b, r)
	}
	if cap(b) <= 1<<20 {
		j.frame = b
	}
	if _, err := j.log.WriteAt(b, j.logOff); err != nil {
		return fmt.Errorf("journal: write log: %w", err)
	}
	if end := j.logOff + int64(len(b)); end > j.logSize {
		// The frames grew the file: grow it by logGrow of zeros more, in
		// the same fdatasync, so the next commits write within it.
		if _, err := j.log.WriteAt(zeroChunk[:], end); err != nil {
			return fmt.Errorf("journal: write log: %w", err)
		}
		j.logSize = end + logGrow
	}
	if err := unix.Fdatasync(int(j.log.Fd())); err != nil {
		return fmt.Errorf("journal: sync log: %w", err)
	}
	j.lat.observe(time.Since(start))
	j.logOff += int64(len(b))

	j.mu.Lock()
	j.head = recs[len(recs)-1].Seq
	if j.oldest == 0 {
		j.oldest = recs[0].Seq
	}
	j.pending = append(j.pending, recs...)
	j.ring = append(j.ring, recs...)
	for _, r := range recs {
		j.ringIDs[r.ID] = struct{}{}
	}
	if keep := max(j.ringCap, len(j.pending)); len(j.ring) > 2*keep {
		// Keep the newest ringCap (and every record not yet in SQLite);
		// compacting only past twice that makes the copy amortised O(1)
		// per record instead of O(ringCap) per append.
		for _, r := range j.ring[:len(j.ring)-keep] {
			delete(j.ringIDs, r.ID)
		}
		j.ring = append(make([]Record, 0, 2*keep+len(recs)), j.ring[len(j.ring)-keep:]...)
	}
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
	select {
	case j.kickFlush <- struct{}{}:
	default:
	}
	return nil
}

// checkIDs refuses a record whose id is already among the recent records
// or the batch (the writer's bug: ids are UUIDv7). SQLite's unique index
// still guards older ones when the records move there.
func (j *Journal) checkIDs(recs []Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, r := range recs {
		_, dup := j.ringIDs[r.ID]
		for k := 0; k < i && !dup; k++ {
			dup = recs[k].ID == r.ID
		}
		if dup {
			return fmt.Errorf("journal: seq %d: duplicate event id %s", r.Seq, r.ID)
		}
	}
	return nil
}

// Flush moves every record appended so far into SQLite (tests, backups).
func (j *Journal) Flush() error { return j.flush() }

// Read returns up to max records with seq > after, in order.
func (j *Journal) Read(ctx context.Context, after uint64, max int) ([]Record, error) {
	if max <= 0 {
		max = 1000
	}
	j.mu.Lock()
	if n := len(j.ring); n > 0 && j.ring[0].Seq <= after+1 {
		start := int(after + 1 - j.ring[0].Seq)
		if start >= n {
			j.mu.Unlock()
			return nil, nil
		}
		end := min(start+max, n)
		out := append([]Record(nil), j.ring[start:end]...)
		j.mu.Unlock()
		return out, nil
	}
	j.mu.Unlock()

	rows, err := j.db.QueryContext(ctx, `SELECT seq,id,type,ts,body FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), max)
	if err != nil {
		return nil, fmt.Errorf("journal: read: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var seq, ts int64
		if err := rows.Scan(&seq, &r.ID, &r.Type, &ts, &r.Body); err != nil {
			return nil, fmt.Errorf("journal: scan: %w", err)
		}
		r.Seq, r.TS = uint64(seq), time.UnixMilli(ts)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Scan calls fn for every record with seq > after, in order (used for replay).
func (j *Journal) Scan(ctx context.Context, after uint64, fn func(Record) error) error {
	for {
		recs, err := j.Read(ctx, after, 2000)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		after = recs[len(recs)-1].Seq
	}
}

// Meta reads a small durable value (consumer cursors, floors).
func (j *Journal) Meta(key string) (string, bool, error) {
	var v string
	err := j.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("journal: meta %s: %w", key, err)
	}
	return v, true, nil
}

// SetMeta writes a small durable value.
//
// The records appended so far go into SQLite first: a value that refers to
// them (a cursor) is never ahead of what a copy of the database holds.
func (j *Journal) SetMeta(key, value string) error {
	if err := j.flush(); err != nil {
		return err
	}
	_, err := j.db.Exec(`INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("journal: set meta %s: %w", key, err)
	}
	return nil
}

// SaveCheckpoint stores body as the named consumer's folded state through seq
// (the hall state, the statistics). A checkpoint lets a restart fold only
// what follows it, and is what allows Prune to drop what precedes it.
func (j *Journal) SaveCheckpoint(name string, seq uint64, body []byte) error {
	if err := j.flush(); err != nil { // a checkpoint never runs ahead of the events
		return err
	}
	_, err := j.db.Exec(`INSERT INTO checkpoints(name,seq,body) VALUES(?,?,?) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq, body=excluded.body`,
		name, int64(seq), body)
	if err != nil {
		return fmt.Errorf("journal: save checkpoint %s: %w", name, err)
	}
	return nil
}

// Checkpoint returns the named checkpoint; ok is false when there is none.
func (j *Journal) Checkpoint(name string) (seq uint64, body []byte, ok bool, err error) {
	var s int64
	err = j.db.QueryRow(`SELECT seq, body FROM checkpoints WHERE name = ?`, name).Scan(&s, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("journal: checkpoint %s: %w", name, err)
	}
	return uint64(s), body, true, nil
}

// CheckpointSeq is the seq of the named checkpoint, 0 when there is none.
func (j *Journal) CheckpointSeq(name string) uint64 {
	var s int64
	if err := j.db.QueryRow(`SELECT seq FROM checkpoints WHERE name = ?`, name).Scan(&s); err != nil {
		return 0
	}
	return uint64(s)
}

// OlderThan returns the last seq of the journal's leading run of records
// stamped before cutoff (0 when the oldest is not). It walks the prefix in
// seq order and stops at the first newer record, so an hourly call reads
// only the hour's records, and a record stamped in the past after a clock
// step back cannot make newer records look old.
func (j *Journal) OlderThan(ctx context.Context, cutoff time.Time) (uint64, error) {
	if err := j.flush(); err != nil {
		return 0, err
	}
	var last uint64
	after := j.Oldest() - 1
	for {
		rows, err := j.db.QueryContext(ctx, `SELECT seq, ts FROM events WHERE seq > ? ORDER BY seq LIMIT 5000`, int64(after))
		if err != nil {
			return 0, fmt.Errorf("journal: scan ages: %w", err)
		}
		n := 0
		done := false
		for rows.Next() {
			var seq, ts int64
			if err := rows.Scan(&seq, &ts); err != nil {
				rows.Close()
				return 0, fmt.Errorf("journal: scan ages: %w", err)
			}
			n++
			if !time.UnixMilli(ts).Before(cutoff) {
				done = true
				break
			}
			last, after = uint64(seq), uint64(seq)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return 0, fmt.Errorf("journal: scan ages: %w", err)
		}
		if done || n == 0 {
			return last, nil
		}
	}
}

// Prune deletes every record with seq <= upTo, in batches so the writer
// is never held off for long, and returns how many went. The head is kept in
// meta first, so a journal pruned empty still continues its sequence.
// Callers decide upTo; the journal only refuses to go past its head.
func (j *Journal) Prune(ctx context.Context, upTo uint64) (int, error) {
	if err := j.flush(); err != nil {
		return 0, err
	}
	head := j.Head()
	if upTo > head {
		upTo = head
	}
	j.mu.Lock()
	upTo = min(upTo, j.flushed) // never what SQLite does not hold yet
	j.mu.Unlock()
	if upTo < j.Oldest() {
		return 0, nil
	}
	if err := j.SetMeta("head_floor", fmt.Sprint(head)); err != nil {
		return 0, err
	}
	total := 0
	for {
		from := j.Oldest()
		if from > upTo {
			return total, nil
		}
		to := min(upTo, from+4999)
		res, err := j.db.ExecContext(ctx, `DELETE FROM events WHERE seq >= ? AND seq <= ?`, int64(from), int64(to))
		if err != nil {
			return total, fmt.Errorf("journal: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		j.mu.Lock()
		j.oldest = to + 1
		if j.oldest > j.head {
			j.oldest = 0 // empty: Oldest() reports head+1
		}
		// Readers of the ring must not see what is gone from disk.
		for len(j.ring) > 0 && j.ring[0].Seq <= to {
			delete(j.ringIDs, j.ring[0].ID)
			j.ring = j.ring[1:]
		}
		j.mu.Unlock()
	}
}

// Stats reports the size of the log for metrics.
type Stats struct {
	Head, Oldest uint64
	FileBytes    int64
}

// Stats returns current sizes.
func (j *Journal) Stats() Stats {
	s := Stats{Head: j.Head(), Oldest: j.Oldest()}
	for _, suffix := range []string{"", "-wal", ".log"} {
		if fi, err := os.Stat(j.path + suffix); err == nil {
			s.FileBytes += fi.Size()
		}
	}
	return s
}

// Close moves what the log holds into SQLite, empties the log, checkpoints
// and closes the database.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		close(j.stopFlush)
		<-j.flushDone
	})
	j.amu.Lock()
	if err := j.flush(); err == nil {
		j.emptyLog()
	}
	j.log.Close()
	j.amu.Unlock()
	j.ins.Close()
	_, _ = j.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return j.db.Close()
}

// Backup writes a consistent copy of the journal at src to dest (which must
// not exist), while halld may be running: SQLite's VACUUM INTO reads one
// snapshot through a read-only connection and writes a compact database.
// Restore by stopping halld and putting the copy in place of journal.db.
//
// The copy is 0600 whatever the umask: dest is created empty, 0600, before
// VACUUM INTO fills it (which SQLite allows for an empty file).
func Backup(ctx context.Context, src, dest string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("journal: backup: %w", err)
	}
	if err := createPrivate(dest, true); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("journal: backup: %s exists; name a new file", dest)
		}
		return fmt.Errorf("journal: backup: %w", err)
	}
	// The log first, then the database: the log holds every record the
	// database may not (it is emptied only once the database has them
	// all), so the two together are a gap-free prefix of the journal.
	logData, err := os.ReadFile(src + ".log")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(dest)
		return fmt.Errorf("journal: backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		os.Remove(dest)
		return fmt.Errorf("journal: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("journal: backup to %s: %w", dest, err)
	}
	if len(logData) == 0 {
		return nil
	}
	// Opening the copy with the live log's records beside it moves them in.
	if err := os.WriteFile(dest+".log", logData, 0o600); err != nil {
		os.Remove(dest)
		return fmt.Errorf("journal: backup: %w", err)
	}
	b, err := Open(dest, Options{})
	if err != nil {
		os.Remove(dest)
		os.Remove(dest + ".log")
		return fmt.Errorf("journal: backup: %w", err)
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("journal: backup: %w", err)
	}
	os.Remove(dest + ".log")
	return nil
}

// createPrivate creates path 0600 (umask or not) if it does not exist; with
// excl an existing path is an error (os.ErrExist).
func createPrivate(path string, excl bool) error {
	flags := os.O_WRONLY | os.O_CREATE
	if excl {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// O_CREATE on an existing file keeps its mode; tightenFiles sees to that.
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// tightenFiles makes the database and its -wal and -shm 0600 when group or
// other may use them. A file halld may write but does not own (chmod
// refused) is left as it is rather than refusing to start the hall.
func tightenFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".log"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrPermission) {
			return err
		}
	}
	return nil
}
