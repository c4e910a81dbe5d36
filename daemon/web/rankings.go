package web

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"halld/daemon/rankpdf"
	"halld/daemon/stats"
)

// pdfSlots bounds the PDF reports made at once: each parses the CJK font (megabytes) in memory.
var pdfSlots = make(chan struct{}, 2)

// rankings serves the window ranking (窗口排名): GET /api/v1/rankings?period=2026-11|2026Q4
// [&format=json|csv|pdf]. period defaults to the current month; a period is a month or a quarter,
// never longer, and not one that has not begun.
func (s *Server) rankings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := s.d.Config
	now := s.d.Engine.Now().In(cfg.Location)
	period := q.Get("period")
	if period == "" {
		period = now.Format("2006-01")
	}
	if len(period) > 16 {
		period = period[:16]
	}
	p, err := stats.ParsePeriod(period, cfg.Location)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_period", "period 须为月份（如 2026-11）或季度（如 2026Q4）")
		return
	}
	if p.From.After(now) {
		writeError(w, http.StatusBadRequest, "period_not_begun", p.Name()+"尚未开始，没有可排名的数据")
		return
	}
	format := q.Get("format")
	switch format {
	case "", "json", "csv", "pdf":
	default:
		writeError(w, http.StatusBadRequest, "bad_format", "format 只能是 json、csv 或 pdf")
		return
	}
	var font string
	if format == "pdf" { // before the work: say at once when it cannot be printed
		if font, err = rankpdf.FindFont(cfg.RankingFont()); err != nil {
			s.d.Log.Warn("ranking PDF: no font", "err", err)
			writeError(w, http.StatusServiceUnavailable, "font_unavailable",
				"未找到可嵌入的中文字体（TrueType .ttf），无法生成 PDF：请安装 fonts-droid-fallback，或在 devices.yaml 的 ranking.font 指定 .ttf 字体文件")
			return
		}
	}
	if s.d.Stats == nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "统计尚未就绪")
		return
	}
	rk := s.d.Stats.RankWindows(p.Key, stats.WindowFormulaOf(cfg.Ranking), now)
	if rk.Error != "" {
		writeError(w, http.StatusInternalServerError, "ranking_failed", "排名计算失败："+rk.Error)
		return
	}
	name := "window-ranking-" + p.Key
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		rk.CSV(w)
	case "pdf":
		select {
		case pdfSlots <- struct{}{}:
			defer func() { <-pdfSlots }()
		case <-time.After(10 * time.Second):
			writeError(w, http.StatusServiceUnavailable, "busy", "正在生成其他报表，请稍后再试")
			return
		case <-r.Context().Done():
			return
		}
		var buf bytes.Buffer
		if err := rankpdf.Render(&buf, rk, cfg.Hall.Name, font, now); err != nil {
			code, status := "pdf_failed", http.StatusInternalServerError
			if errors.Is(err, rankpdf.ErrNoFont) {
				code, status = "font_unavailable", http.StatusServiceUnavailable
			}
			s.d.Log.Warn("ranking PDF", "err", err)
			writeError(w, status, code, "PDF 生成失败，请查看 halld 日志")
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		// inline: the browser shows it, and prints it for the notice board.
		w.Header().Set("Content-Disposition", `inline; filename="`+name+`.pdf"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	default:
		writeJSON(w, http.StatusOK, rk)
	}
}
