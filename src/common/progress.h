/* Progress display for long host jobs (kernel fetch, initramfs, template builds).
 * Owns the "@@" progress line protocol the images/ scripts speak on stderr and its rendering:
 * one updating line on a terminal, one plain line per step otherwise, nothing when quiet.
 * Never prints anything but progress and errors; never blocks (the caller feeds it lines).
 *
 * Protocol (one per line, anything else is log):
 *   @@step I N text     step I of N begins
 *   @@count DONE TOTAL  items done within the current step (a bar is drawn)
 *   @@msg text          an informational line for the user
 *   @@error text        the job's failure, "<what failed>: <why> (<what to do>)"
 */
#ifndef SBX_CLI_PROGRESS_H
#define SBX_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

enum progress_kind { PROG_LOG, PROG_STEP, PROG_COUNT, PROG_MSG, PROG_ERROR };

struct progress_line {
	enum progress_kind kind;
	long a, b;	  /* step I, N or count DONE, TOTAL */
	const char *text; /* points into the parsed line (step/msg/error text, or the log line) */
};

enum progress_mode { PROGRESS_QUIET, PROGRESS_PLAIN, PROGRESS_TTY };

struct progress {
	enum progress_mode mode;
	FILE *out;	/* where progress goes (stderr) */
	FILE *log;	/* log lines are appended here, may be NULL */
	char title[96]; /* e.g. "Building template shell" */
	long step, nsteps;
	char step_text[128];
	long done, total; /* current count, total 0 = none */
	struct timespec start;
	long shown_sec;	 /* elapsed second last drawn (TTY) */
	bool drawn;	 /* a TTY status line is on screen */
	char error[512]; /* last @@error text */
};

/**
 * progress_parse_line() - classify one line of a job's stderr.
 * @line: NUL-terminated line without its newline.
 * @out: filled in; out->text points into @line.
 * Malformed "@@" lines (bad numbers, I > N, DONE > TOTAL) are treated as log lines.
 * Return: the kind (also stored in @out->kind).
 */
enum progress_kind progress_parse_line(const char *line, struct progress_line *out);

/**
 * progress_mode_pick() - PROGRESS_QUIET if @quiet, PROGRESS_TTY if @f is a terminal, else
 * PROGRESS_PLAIN.
 */
enum progress_mode progress_mode_pick(bool quiet, FILE *f);

/**
 * progress_init() - start a display for a job titled @title, drawing to @out in @mode and
 * appending log lines to @log (may be NULL).
 */
void progress_init(struct progress *pr, enum progress_mode mode, FILE *out, FILE *log,
		   const char *title);

/**
 * progress_feed() - handle one line of the job's stderr (without newline): render progress
 * lines, remember @@error text, append everything else to the log.
 */
void progress_feed(struct progress *pr, const char *line);

/**
 * progress_tick() - redraw the elapsed time on a terminal if a second has passed; call it
 * when the job is silent. No-op in other modes.
 */
void progress_tick(struct progress *pr);

/**
 * progress_done() - end the display: on success print "<title>: done (M:SS)" (not when quiet),
 * on failure just clear the status line so an error can follow.
 */
void progress_done(struct progress *pr, bool ok);

/**
 * progress_format_status() - the one-line status "[2/4] Installing packages  37/412
 * [#####.....] 0:41" into @buf (@len bytes), fitted to @width columns (0 = no limit).
 * Return: @buf.
 */
char *progress_format_status(const struct progress *pr, long elapsed, int width, char *buf,
			     size_t len);

/**
 * progress_human_size() - @bytes as "512 B", "3.4 MiB", "261 MiB", "1.2 GiB" ("-" if
 * negative) into @buf.
 */
void progress_human_size(long long bytes, char *buf, size_t len);

/**
 * progress_human_age() - how long before @now @t was: "just now", "5 minutes ago",
 * "3 hours ago", "2 days ago", into @buf.
 */
void progress_human_age(time_t t, time_t now, char *buf, size_t len);

#endif
