package escpossim

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"halld/drivers/escpos"
)

// host is the daemon's end of an in-memory link to a Simulator.
type host struct {
	w       *io.PipeWriter
	replies chan byte
	done    chan error
	cancel  context.CancelFunc
}

type rw struct {
	io.Reader
	io.Writer
}

func start(t *testing.T, s *Simulator) *host {
	t.Helper()
	toSim, fromHost := io.Pipe()
	toHost, fromSim := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{w: fromHost, replies: make(chan byte, 64), done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- s.Serve(ctx, rw{toSim, fromSim}) }()
	go func() {
		var b [1]byte
		for {
			if _, err := toHost.Read(b[:]); err != nil {
				return
			}
			h.replies <- b[0]
		}
	}()
	t.Cleanup(func() {
		cancel()
		fromHost.Close()
		toHost.Close()
	})
	return h
}

func (h *host) write(t *testing.T, p []byte) {
	t.Helper()
	if _, err := h.w.Write(p); err != nil {
		t.Fatal(err)
	}
}

// poll runs one DLE EOT 1..4 cycle; a reply not seen within 200 ms is -1.
func (h *host) poll(t *testing.T) [4]int {
	t.Helper()
	var r [4]int
	for i := range r {
		h.write(t, escpos.StatusQuery(i+1))
		select {
		case b := <-h.replies:
			r[i] = int(b)
		case <-time.After(200 * time.Millisecond):
			r[i] = -1
		}
	}
	return r
}

// tickets collects completed tickets as they come.
func collect(s *Simulator) <-chan Ticket {
	ch := make(chan Ticket, 16)
	s.OnTicket(func(t Ticket) { ch <- t })
	return ch
}

func next(t *testing.T, ch <-chan Ticket) Ticket {
	t.Helper()
	select {
	case tk := <-ch:
		return tk
	case <-time.After(2 * time.Second):
		t.Fatal("no ticket")
		return Ticket{}
	}
}

func TestFullChineseTicket(t *testing.T) {
	lines := []string{"某某市政务服务中心", "A001", "不动产登记", "您前面还有 3 人等候", "所需材料：", "1. 身份证原件", "2. 不动产权证书", "扫码评价  热线 88995297"}
	url := "https://hall.example.cn/r?t=A001"
	tests := []struct {
		profile string
		lines   []string
		qr      []string
		cut     bool
	}{
		{"generic-80mm", lines, []string{url}, true},
		{"generic-58mm", lines, []string{url}, true},
		{"hprt-pptii-a", lines, []string{url}, true},
		// BP-002 magnifies only 2×: A001 goes out as an image, read back by the simulator.
		{"birch-bp002", lines, []string{url}, true},
		// ZJ-5870 has no GS ( k and no cutter: the QR is an image, the ticket is torn off.
		{"zj-5870", append(append(append([]string(nil), lines[:7]...), "[image 384x222]"), lines[7]), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			p, _ := escpos.LookupProfile(tt.profile)
			s := New(p)
			got := collect(s)
			h := start(t, s)
			job := ticketJob(t, p)
			before := time.Now()
			h.write(t, job)
			tk := next(t, got)
			if !reflect.DeepEqual(tk.Lines, tt.lines) {
				t.Errorf("lines\n got %q\nwant %q", tk.Lines, tt.lines)
			}
			if !reflect.DeepEqual(tk.QR, tt.qr) {
				t.Errorf("QR %q, want %q", tk.QR, tt.qr)
			}
			if tk.Cut != tt.cut {
				t.Errorf("Cut = %v, want %v", tk.Cut, tt.cut)
			}
			if tk.Raw != len(job) {
				t.Errorf("Raw = %d, want %d", tk.Raw, len(job))
			}
			if tk.Started.Before(before) || tk.Finished.Before(tk.Started) || time.Since(tk.Finished) > time.Second {
				t.Errorf("times: started %v finished %v (sent at %v)", tk.Started, tk.Finished, before)
			}
			if all := s.Tickets(); len(all) != 1 || !reflect.DeepEqual(all[0], tk) {
				t.Errorf("Tickets() = %+v", all)
			}
		})
	}
}

func TestStatusRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		set      func(*Simulator)
		known    bool
		online   bool
		cover    bool
		paper    escpos.Paper
		problems []string
	}{
		{"idle", func(*Simulator) {}, true, true, false, escpos.PaperOK, nil},
		{"near end", func(s *Simulator) { s.SetPaper(escpos.PaperNearEnd) }, true, true, false, escpos.PaperNearEnd, []string{"paper_near_end"}},
		{"paper end", func(s *Simulator) { s.SetPaper(escpos.PaperEnd) }, true, false, false, escpos.PaperEnd, []string{"offline", "paper_end"}},
		{"cover open", func(s *Simulator) { s.SetCoverOpen(true) }, true, false, true, escpos.PaperOK, []string{"offline", "cover_open"}},
		{"offline", func(s *Simulator) { s.SetOffline(true) }, true, false, false, escpos.PaperOK, []string{"offline"}},
		{"cover open, near end", func(s *Simulator) { s.SetCoverOpen(true); s.SetPaper(escpos.PaperNearEnd) },
			true, false, true, escpos.PaperNearEnd, []string{"offline", "cover_open", "paper_near_end"}},
		{"mute: unknown, not offline", func(s *Simulator) { s.SetMute(true) }, false, false, false, escpos.PaperUnknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := escpos.LookupProfile("generic-80mm")
			s := New(p)
			tt.set(s)
			h := start(t, s)
			st := escpos.DecodeStatus(h.poll(t))
			if st.Known != tt.known || st.Online != tt.online || st.CoverOpen != tt.cover || st.Paper != tt.paper {
				t.Errorf("got %+v", st)
			}
			if !reflect.DeepEqual(st.Problems(), tt.problems) {
				t.Errorf("Problems() = %q, want %q", st.Problems(), tt.problems)
			}
		})
	}
}

func TestProfileWithoutStatusNeverAnswers(t *testing.T) {
	p, _ := escpos.LookupProfile("generic-80mm")
	p.Status = false
	h := start(t, New(p))
	if st := escpos.DecodeStatus(h.poll(t)); st.Known {
		t.Errorf("got %+v", st)
	}
}

func TestStoppedPrinterDiscardsButAnswers(t *testing.T) {
	p, _ := escpos.LookupProfile("generic-80mm")
	s := New(p)
	got := collect(s)
	h := start(t, s)
	job := ticketJob(t, p)

	s.SetPaper(escpos.PaperEnd)
	h.write(t, job)
	if st := escpos.DecodeStatus(h.poll(t)); st.Paper != escpos.PaperEnd || !st.PaperEndStop {
		t.Errorf("status while out of paper: %+v", st)
	}
	s.SetPaper(escpos.PaperOK)
	s.SetCoverOpen(true)
	h.write(t, job)
	if st := escpos.DecodeStatus(h.poll(t)); !st.CoverOpen {
		t.Errorf("status with cover open: %+v", st)
	}
	if n := len(s.Tickets()); n != 0 {
		t.Fatalf("%d tickets printed while stopped", n)
	}

	s.SetCoverOpen(false)
	h.write(t, job)
	if tk := next(t, got); len(tk.Lines) != 8 || tk.Raw != len(job) {
		t.Errorf("after recovery: %+v", tk)
	}
}

func TestPollsBetweenJobsAreNotTicketBytes(t *testing.T) {
	p, _ := escpos.LookupProfile("generic-80mm")
	s := New(p)
	got := collect(s)
	h := start(t, s)
	h.poll(t)
	time.Sleep(20 * time.Millisecond)
	sent := time.Now()
	job := ticketJob(t, p)
	h.write(t, job[:100])
	h.poll(t) // between commands, as the daemon may
	h.write(t, job[100:])
	h.poll(t)
	tk := next(t, got)
	if tk.Raw != len(job) {
		t.Errorf("Raw = %d, want %d", tk.Raw, len(job))
	}
	if tk.Started.Before(sent) {
		t.Errorf("Started %v is before the job was sent (%v)", tk.Started, sent)
	}
}

func TestTornTicketsWithoutCutter(t *testing.T) {
	p, _ := escpos.LookupProfile("zj-5870")
	s := New(p)
	got := collect(s)
	h := start(t, s)
	// A job with no feed at the end completes when the next job starts.
	h.write(t, escpos.NewBuilder(p).Init().Line("A001").Bytes())
	h.write(t, escpos.NewBuilder(p).Init().Line("A002").Feed(3).Bytes())
	a, b := next(t, got), next(t, got)
	if !reflect.DeepEqual(a.Lines, []string{"A001"}) || !reflect.DeepEqual(b.Lines, []string{"A002"}) || a.Cut || b.Cut {
		t.Errorf("got %+v and %+v", a, b)
	}
	// A GS V on a printer without a cutter does nothing.
	h.write(t, []byte("A003\n\x1dVA\x00"))
	select {
	case tk := <-got:
		t.Errorf("cut completed a ticket on a printer without cutter: %+v", tk)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestServeReturns(t *testing.T) {
	p, _ := escpos.LookupProfile("generic-80mm")
	h := start(t, New(p))
	h.w.Close()
	select {
	case err := <-h.done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Serve = %v, want EOF", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return when the link closed")
	}
	h2 := start(t, New(p))
	h2.cancel()
	select {
	case err := <-h2.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve did not return on cancel")
	}
}
