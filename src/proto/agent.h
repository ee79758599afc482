/* The host<->guest agent wire protocol: the ONE definition of its frames, shared by the host
 * programs (glibc) and sbx-init (musl, static). Owns framing, encoders and the one parser per
 * direction. Never does I/O beyond writing a whole buffer; never trusts a length it has not
 * checked.
 *
 * A stream (one vsock connection to guest port 1024) carries frames:
 *   header (8 bytes): u32 len (payload bytes, LE, <= SBX_FRAME_MAX) | u8 type | u8 flags | u16
 * rsvd=0 payload (len bytes), layout per type below; integers are little-endian. The host speaks
 * first. The first frame picks the stream's role: PING, SETTIME, SHUTDOWN (one request, one reply)
 * or EXEC (a session until EXIT or ERROR+EXIT).
 */
#ifndef SBX_PROTO_AGENT_H
#define SBX_PROTO_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SBX_FRAME_HDR  8
#define SBX_FRAME_MAX  65536u /* largest payload */
#define SBX_CHUNK_MAX  32768u /* largest STDIN/STDOUT/STDERR payload a sender produces */
#define AGENT_ARGV_MAX 2048   /* argv entries in one EXEC */
#define AGENT_ENV_MAX  1024   /* env entries in one EXEC */

enum agent_type {
	AGENT_PING = 1,	 /* h->g, empty */
	AGENT_PONG,	 /* g->h, empty */
	AGENT_SETTIME,	 /* h->g, u64 UTC ns since the epoch */
	AGENT_SHUTDOWN,	 /* h->g, empty */
	AGENT_ACK,	 /* g->h, empty: SETTIME / SHUTDOWN done */
	AGENT_EXEC,	 /* h->g, flags AGENT_EXEC_*; u16 rows, u16 cols, then TLVs (below) */
	AGENT_STARTED,	 /* g->h, u32 pid (detached exec only) */
	AGENT_STDIN,	 /* h->g, bytes */
	AGENT_STDIN_EOF, /* h->g, empty */
	AGENT_RESIZE,	 /* h->g, u16 rows, u16 cols */
	AGENT_SIGNAL,	 /* h->g, u32 signal number (1..64) */
	AGENT_STDOUT,	 /* g->h, bytes */
	AGENT_STDERR,	 /* g->h, bytes */
	AGENT_EXIT,	 /* g->h, u32 shell-style status 0..255 (128+N: killed by signal N) */
	AGENT_ERROR,	 /* g->h, u32 errno (Linux numbering), u32 kind AGENT_ERR_*, message\0 */
	AGENT_TYPE_END
};

/* EXEC header flags */
#define AGENT_EXEC_TTY	       0x01
#define AGENT_EXEC_INTERACTIVE 0x02
#define AGENT_EXEC_DETACH      0x04
#define AGENT_EXEC_FLAGS       0x07

/* EXEC TLVs: u8 tag, u16 len, value (len bytes, a string including its one trailing NUL).
 * USER and CWD at most once; ARG at least once (argv[0]); order of ARGs and ENVs is kept. */
enum agent_tag { AGENT_T_USER = 1, AGENT_T_CWD, AGENT_T_ARG, AGENT_T_ENV };

/* ERROR kinds: what stage failed. */
enum agent_err_kind {
	AGENT_ERR_EXEC = 1, /* execvp of argv[0] failed (ENOENT -> 127, EACCES -> 126) */
	AGENT_ERR_CWD,	    /* chdir to the requested directory failed */
	AGENT_ERR_USER,	    /* the user is unknown or switching to it failed */
	AGENT_ERR_PROTO,    /* the guest refused a malformed or unexpected frame */
	AGENT_ERR_INTERNAL, /* anything else in the guest (fork, pty, pipes...) */
	AGENT_ERR_KIND_END
};

struct agent_hdr {
	uint32_t len;
	uint8_t type;
	uint8_t flags;
};

/* An EXEC request, as parsed (strings point into the frame) or as to be encoded. */
struct agent_exec_req {
	uint8_t flags; /* AGENT_EXEC_* */
	uint16_t rows, cols;
	const char *user; /* NULL: default */
	const char *cwd;  /* NULL: default */
	size_t argc, envc;
	const char *argv[AGENT_ARGV_MAX + 1]; /* NULL-terminated */
	const char *env[AGENT_ENV_MAX + 1];   /* NULL-terminated */
};

/* One decoded frame of either direction. Pointers point into the parsed buffer. */
struct agent_msg {
	uint8_t type;
	union {
		uint64_t time_ns; /* SETTIME */
		uint32_t pid;	  /* STARTED */
		uint32_t status;  /* EXIT */
		uint32_t signo;	  /* SIGNAL */
		struct {
			uint16_t rows, cols;
		} size; /* RESIZE */
		struct {
			const uint8_t *p;
			size_t n;
		} data; /* STDIN, STDOUT, STDERR */
		struct {
			uint32_t code, kind;
			const char *msg;
		} err; /* ERROR */
	} u;
};

/**
 * agent_hdr_parse() - decode and check a frame header.
 * @b: at least SBX_FRAME_HDR bytes.
 * Return: 0, or -1 if the type is unknown, the length exceeds SBX_FRAME_MAX or rsvd is not 0.
 */
int agent_hdr_parse(const uint8_t *b, struct agent_hdr *h);

/**
 * agent_frame_next() - find the first whole frame in a receive buffer.
 * @b, @n: bytes received so far.
 * @h: the frame's header when complete.
 * Return: total frame length (header + payload) when a whole frame is there, 0 if more bytes
 * are needed, -1 if the header is malformed (the stream must be dropped).
 */
long agent_frame_next(const uint8_t *b, size_t n, struct agent_hdr *h);

/**
 * agent_parse_h2g() - the guest's parser: decode a host->guest frame.
 * @h: header from agent_frame_next(); @p: its payload (h->len bytes).
 * @m: decoded message (pointers into @p); @x: filled for EXEC (may be NULL to refuse EXEC).
 * Return: 0, or -1 if the frame is not a well-formed host->guest message.
 */
int agent_parse_h2g(const struct agent_hdr *h, const uint8_t *p, struct agent_msg *m,
		    struct agent_exec_req *x);

/**
 * agent_parse_g2h() - the host's parser: decode a guest->host frame.
 * Return: 0, or -1 if the frame is not a well-formed guest->host message.
 */
int agent_parse_g2h(const struct agent_hdr *h, const uint8_t *p, struct agent_msg *m);

/**
 * agent_put() - write one frame (header + @n payload bytes from @p) into @out.
 * @cap: room in @out. Return: bytes written, or 0 if it does not fit or @n > SBX_FRAME_MAX.
 */
size_t agent_put(uint8_t *out, size_t cap, uint8_t type, uint8_t flags, const void *p, size_t n);

/**
 * agent_put_hdr() - write only a frame header into @out (SBX_FRAME_HDR bytes), for a payload
 * the caller has already placed right after it. @len must be <= SBX_FRAME_MAX.
 */
void agent_put_hdr(uint8_t *out, uint8_t type, uint8_t flags, uint32_t len);

/**
 * agent_put_u32() - write a frame whose payload is one u32 (STARTED, SIGNAL, EXIT).
 * Return: bytes written or 0.
 */
size_t agent_put_u32(uint8_t *out, size_t cap, uint8_t type, uint32_t v);

/**
 * agent_put_u64() - write a frame whose payload is one u64 (SETTIME). Return: bytes or 0.
 */
size_t agent_put_u64(uint8_t *out, size_t cap, uint8_t type, uint64_t v);

/**
 * agent_put_resize() - write a RESIZE frame. Return: bytes written or 0.
 */
size_t agent_put_resize(uint8_t *out, size_t cap, uint16_t rows, uint16_t cols);

/**
 * agent_put_error() - write an ERROR frame (@msg is truncated to fit a frame).
 * Return: bytes written or 0.
 */
size_t agent_put_error(uint8_t *out, size_t cap, uint32_t code, uint32_t kind, const char *msg);

/**
 * agent_put_exec() - encode an EXEC request (argv/env from @x->argv/@x->env, NULL-terminated;
 * argc/envc are ignored). Return: bytes written, or 0 if it does not fit in one frame
 * (E2BIG: too many or too long arguments) or argv is empty.
 */
size_t agent_put_exec(uint8_t *out, size_t cap, const struct agent_exec_req *x);

/**
 * agent_hybrid_connect_parse() - parse the hybrid-vsock request line "CONNECT <port>\n".
 * @b, @n: bytes up to and including the '\n'. Return: the port, or -1 if malformed.
 */
long agent_hybrid_connect_parse(const char *b, size_t n);

/**
 * agent_hybrid_ok_parse() - parse the hybrid-vsock reply line "OK <n>\n".
 * Return: n, or -1 if malformed.
 */
long agent_hybrid_ok_parse(const char *b, size_t n);

/**
 * agent_write_full() - write all @n bytes to @fd (blocking fds; retries EINTR; no SIGPIPE on
 * sockets). Return: 0, or -1 with errno.
 */
int agent_write_full(int fd, const void *b, size_t n);

/**
 * agent_type_name() - a frame type's name for diagnostics ("EXEC", "?" if unknown).
 */
const char *agent_type_name(uint8_t type);

#endif
