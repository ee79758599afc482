/* Progress rendering for the images/ scripts' "@@" lines (see progress.h).
 * Owns parsing and drawing only; never runs jobs and never reads anything but the lines it is
 * fed, so a misbehaving script can at worst produce an ugly status line. */
#include "common/progress.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BAR_WIDTH 20

/* parse a non-negative decimal at *s, followed by a space or end; advance *s past it */
static bool parse_num(const char **s, long *out)
{
	const char *p = *s;
	char *end;

	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (errno || v < 0 || v > INT_MAX || (*end != ' ' && *end != '\0'))
		return false;
	*out = v;
	*s = *end == ' ' ? end + 1 : end;
	return true;
}

enum progress_kind progress_parse_line(const char *line, struct progress_line *out)
{
	const char *s;

	memset(out, 0, sizeof(*out));
	out->kind = PROG_LOG;
	out->text = line;
	if (strncmp(line, "@@", 2) != 0)
		return out->kind;
	s = line + 2;
	if (strncmp(s, "step ", 5) == 0) {
		s += 5;
		long i, n;
		if (!parse_num(&s, &i) || !parse_num(&s, &n) || i < 1 || n < 1 || i > n)
			return out->kind;
		out->kind = PROG_STEP;
		out->a = i;
		out->b = n;
		out->text = s;
	} else if (strncmp(s, "count ", 6) == 0) {
		s += 6;
		long d, t;
		if (!parse_num(&s, &d) || !parse_num(&s, &t) || *s != '\0' || t < 1 || d > t)
			return out->kind;
		out->kind = PROG_COUNT;
		out->a = d;
		out->b = t;
		out->text = s;
	} else if (strncmp(s, "msg ", 4) == 0) {
		out->kind = PROG_MSG;
		out->text = s + 4;
	} else if (strncmp(s, "error ", 6) == 0) {
		out->kind = PROG_ERROR;
		out->text = s + 6;
	}
	return out->kind;
}

enum progress_mode progress_mode_pick(bool quiet, FILE *f)
{
	if (quiet)
		return PROGRESS_QUIET;
	return isatty(fileno(f)) ? PROGRESS_TTY : PROGRESS_PLAIN;
}

static long elapsed_sec(const struct progress *pr)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - pr->start.tv_sec);
}

static int term_width(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

void progress_init(struct progress *pr, enum progress_mode mode, FILE *out, FILE *log,
		   const char *title)
{
	memset(pr, 0, sizeof(*pr));
	pr->mode = mode;
	pr->out = out;
	pr->log = log;
	snprintf(pr->title, sizeof(pr->title), "%s", title);
	clock_gettime(CLOCK_MONOTONIC, &pr->start);
	pr->shown_sec = -1;
}

char *progress_format_status(const struct progress *pr, long elapsed, int width, char *buf,
			     size_t len)
{
	char right[128] = "";
	char left[192];
	int n;

	if (pr->total > 0) {
		int fill = (int)(pr->done * BAR_WIDTH / pr->total);
		char bar[BAR_WIDTH + 1];
		for (int i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH] = '\0';
		snprintf(right, sizeof(right), "  %ld/%ld [%s] %ld:%02ld", pr->done, pr->total, bar,
			 elapsed / 60, elapsed % 60);
	} else {
		snprintf(right, sizeof(right), "  %ld:%02ld", elapsed / 60, elapsed % 60);
	}
	if (pr->nsteps > 0)
		snprintf(left, sizeof(left), "[%ld/%ld] %s", pr->step, pr->nsteps, pr->step_text);
	else
		snprintf(left, sizeof(left), "%s", pr->title);
	/* fit: shorten the step text, never the numbers */
	int avail = width > 0 ? width - 1 - (int)strlen(right) : (int)sizeof(left);
	if (avail < 8)
		avail = 8;
	n = (int)strlen(left);
	if (n > avail)
		left[avail] = '\0';
	snprintf(buf, len, "%s%s", left, right);
	return buf;
}

static void draw(struct progress *pr)
{
	char buf[400];
	long el = elapsed_sec(pr);
	int width = term_width(pr->out);
	int tlen = (int)strlen(pr->title);

	/* "<title>: <status>" when the terminal is wide enough for both */
	if (tlen + 2 + 50 < width) {
		progress_format_status(pr, el, width - tlen - 2, buf, sizeof(buf));
		fprintf(pr->out, "\r%s: %s\033[K", pr->title, buf);
	} else {
		progress_format_status(pr, el, width, buf, sizeof(buf));
		fprintf(pr->out, "\r%s\033[K", buf);
	}
	fflush(pr->out);
	pr->shown_sec = el;
	pr->drawn = true;
}

static void clear_line(struct progress *pr)
{
	if (pr->mode == PROGRESS_TTY && pr->drawn) {
		fputs("\r\033[K", pr->out);
		pr->drawn = false;
	}
}

void progress_feed(struct progress *pr, const char *line)
{
	struct progress_line pl;
	long el;

	switch (progress_parse_line(line, &pl)) {
	case PROG_LOG:
		if (pr->log) {
			fputs(line, pr->log);
			fputc('\n', pr->log);
		}
		return;
	case PROG_ERROR:
		snprintf(pr->error, sizeof(pr->error), "%s", pl.text);
		if (pr->log)
			fprintf(pr->log, "%s\n", line);
		return;
	case PROG_MSG:
		if (pr->log)
			fprintf(pr->log, "%s\n", line);
		if (pr->mode == PROGRESS_QUIET)
			return;
		clear_line(pr);
		fprintf(pr->out, "%s\n", pl.text);
		if (pr->mode == PROGRESS_TTY)
			draw(pr);
		fflush(pr->out);
		return;
	case PROG_STEP:
		if (pr->log)
			fprintf(pr->log, "%s\n", line);
		pr->step = pl.a;
		pr->nsteps = pl.b;
		snprintf(pr->step_text, sizeof(pr->step_text), "%s", pl.text);
		pr->done = pr->total = 0;
		el = elapsed_sec(pr);
		if (pr->mode == PROGRESS_PLAIN) {
			fprintf(pr->out, "%s: [%ld/%ld] %s (%ld:%02ld)\n", pr->title, pr->step,
				pr->nsteps, pr->step_text, el / 60, el % 60);
			fflush(pr->out);
		} else if (pr->mode == PROGRESS_TTY) {
			draw(pr);
		}
		return;
	case PROG_COUNT:
		pr->done = pl.a;
		pr->total = pl.b;
		if (pr->mode == PROGRESS_TTY)
			draw(pr);
		return;
	}
}

void progress_tick(struct progress *pr)
{
	if (pr->mode == PROGRESS_TTY && pr->drawn && elapsed_sec(pr) != pr->shown_sec)
		draw(pr);
}

void progress_done(struct progress *pr, bool ok)
{
	long el = elapsed_sec(pr);

	if (pr->log)
		fflush(pr->log);
	clear_line(pr);
	if (ok && pr->mode != PROGRESS_QUIET)
		fprintf(pr->out, "%s: done (%ld:%02ld)\n", pr->title, el / 60, el % 60);
	fflush(pr->out);
}

/**
 * progress_human_size() - @bytes as "512 B", "3.4 MiB", "261 MiB", "1.2 GiB" into @buf.
 */
void progress_human_size(long long bytes, char *buf, size_t len)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;

	if (bytes < 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", bytes);
	else if (v < 10)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f %s", v, units[u]);
}

/**
 * progress_human_age() - how long ago @t was, relative to @now: "just now", "5 minutes ago",
 * "3 hours ago", "2 days ago", into @buf.
 */
void progress_human_age(time_t t, time_t now, char *buf, size_t len)
{
	long long d = (long long)(now - t);
	if (d < 60)
		snprintf(buf, len, "just now");
	else if (d < 3600)
		snprintf(buf, len, "%lld minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
	else if (d < 86400)
		snprintf(buf, len, "%lld hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
	else
		snprintf(buf, len, "%lld day%s ago", d / 86400, d / 86400 == 1 ? "" : "s");
}
