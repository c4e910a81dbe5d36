// Package journal is halld's single source of truth: an append-only log of hall
// events with a gap-free sequence number, kept in SQLite (WAL, synchronous=FULL)
// so that an event is on disk before anyone is told it happened.
//
// There is one writer (the engine); readers follow the log by cursor, which
// serves live delivery, resume after a disconnect and replay after a crash
// with one mechanism.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

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

	mu      sync.Mutex
	head    uint64
	oldest  uint64 // first seq still held (after pruning); 0 when empty
	changed chan struct{}
	ring    []Record // recent records, for readers that keep up
	ringCap int
}

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
	j := &Journal{db: db, ins: ins, path: path, changed: make(chan struct{}), ringCap: opts.RingSize}
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
	return j, nil
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

// Append writes recs in one transaction; they must continue the sequence.
// When it returns nil every record is durable.
func (j *Journal) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	head := j.Head()
	for i, r := range recs {
		if r.Seq != head+1+uint64(i) {
			return fmt.Errorf("%w: have head %d, record %d has seq %d", ErrGap, head, i, r.Seq)
		}
	}
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

	j.mu.Lock()
	j.head = recs[len(recs)-1].Seq
	if j.oldest == 0 {
		j.oldest = recs[0].Seq
	}
	j.ring = append(j.ring, recs...)
	if len(j.ring) > 2*j.ringCap {
		// Keep the newest ringCap; compacting only past twice that makes the
		// copy amortised O(1) per record instead of O(ringCap) per append.
		j.ring = append(make([]Record, 0, 2*j.ringCap+len(recs)), j.ring[len(j.ring)-j.ringCap:]...)
	}
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
	return nil
}

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
func (j *Journal) SetMeta(key, value string) error {
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
	head := j.Head()
	if upTo > head {
		upTo = head
	}
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
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(j.path + suffix); err == nil {
			s.FileBytes += fi.Size()
		}
	}
	return s
}

// Close checkpoints and closes the database.
func (j *Journal) Close() error {
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
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
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
