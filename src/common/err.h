/* User-facing errors and logging for host programs.
 * Owns the one-line error format `sbx: <what failed>: <why> (<what to do>)`.
 * Never prints stacks of prefixes; never exits from library code except sbx_die(). */
#ifndef SBX_COMMON_ERR_H
#define SBX_COMMON_ERR_H

#include <stdarg.h>
#include <stdnoreturn.h>

/* Program name used as the prefix ("sbx", "sbxd", "sbx-vhost"); set once in main(). */
extern const char *sbx_prog;

/**
 * sbx_err() - print one error line to stderr: "<prog>: <fmt...>".
 * @fmt: printf format; by convention "<what failed>: <why> (<what to do>)".
 */
void sbx_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * sbx_die() - sbx_err() then exit(1). Only for start-up failures that cannot be survived.
 */
noreturn void sbx_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * sbx_log() - timestamped diagnostic line to stderr (daemons' log files), "<prog>[pid]: ...".
 */
void sbx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * sbx_oneline() - make @s one line in place: every control character (a newline from a client's
 * bytes quoted in an error, say) becomes a space. Return: @s.
 */
char *sbx_oneline(char *s);

#endif
