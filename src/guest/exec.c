/* One exec session in the guest: start the requested process (pty or pipes, user, cwd, env)
 * and relay its stdio, signals, resizes and exit status over the connection. Buffers are
 * bounded: when the host does not read, the process's output is no longer read either.
 * Never lets a process outlive a host that went away (except a detached one). */
#include "guest/gi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define IN_CAP (2 * SBX_FRAME_MAX) /* stdin bytes waiting for the process */

/* What a child reports through its close-on-exec pipe when it cannot exec. */
struct spawn_err {
	int kind, code;
};

struct sess {
	struct gi_conn *c;
	pid_t pid;
	bool tty, exited, eof_pending, host_gone;
	int status;
	int in_fd;     /* process stdin: pipe write end or pty master (dup), -1 closed */
	int out_fd[2]; /* stdout / stderr (or pty master, -1) */
	int master;    /* pty master, -1 without tty */
	size_t ilen;
	uint8_t ibuf[IN_CAP];
};

int gi_conn_flush(struct gi_conn *c, bool block)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (!block)
			break;
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
	} else if (c->outoff > GI_OUT_CAP / 2) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	return 0;
}

/* Queue an ERROR (+ EXIT) frame. */
static void queue_error(struct gi_conn *c, int kind, int code, const char *msg, int status)
{
	c->outlen += agent_put_error(c->out + c->outlen, GI_OUT_CAP - c->outlen, (uint32_t)code,
				     (uint32_t)kind, msg);
	c->outlen +=
	    agent_put_u32(c->out + c->outlen, GI_OUT_CAP - c->outlen, AGENT_EXIT, (uint32_t)status);
}

static int exec_status(const struct spawn_err *e)
{
	if (e->kind == AGENT_ERR_EXEC && e->code == ENOENT)
		return 127;
	return 126;
}

/* In the child: never returns. Reports failure through @errfd. */
static void child_run(const struct agent_exec_req *x, const struct gi_user *u, char **envp,
		      const char *cwd, int fds[3], int slave, int errfd)
{
	struct spawn_err e = {0};
	sigset_t all;
	int i;

	for (i = 1; i < 65; i++)
		signal(i, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (slave >= 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		fds[0] = fds[1] = fds[2] = slave;
	} else if (x->flags & AGENT_EXEC_DETACH) {
		setsid();
	} else {
		setpgid(0, 0);
	}
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(126);
	for (i = 3; i < 1024; i++)
		if (i != errfd)
			close(i);
	if (gi_user_switch(u) < 0) {
		e.kind = AGENT_ERR_USER;
		e.code = errno;
	} else if (chdir(cwd) < 0) {
		if (x->cwd) {
			e.kind = AGENT_ERR_CWD;
			e.code = errno;
		} else if (chdir(u->home) < 0 && chdir("/") < 0) {
			/* the default (workspace, else home) is not there: home, then / */
			e.kind = AGENT_ERR_CWD;
			e.code = errno;
		}
	}
	if (!e.kind) {
		environ = envp;
		execvp(x->argv[0], (char *const *)x->argv);
		e.kind = AGENT_ERR_EXEC;
		e.code = errno;
	}
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* the parent reports a generic failure */
	}
	_exit(exec_status(&e));
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Start the process. Return 0, or -1 with an ERROR+EXIT already queued on @s->c. */
static int spawn(struct sess *s, const struct agent_exec_req *x)
{
	struct gi_user u;
	struct gi_env *env = malloc(sizeof(*env));
	char msg[512];
	int errp[2] = {-1, -1}, io[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	int slave = -1, fds[3], i;
	struct spawn_err e = {0};
	bool detach = x->flags & AGENT_EXEC_DETACH;
	ssize_t n;

	if (!env) {
		queue_error(s->c, AGENT_ERR_INTERNAL, ENOMEM, "out of memory", 126);
		return -1;
	}
	if (gi_user_resolve(x->user, &u, msg, sizeof(msg)) < 0) {
		free(env);
		queue_error(s->c, AGENT_ERR_USER, ENOENT, msg, 126);
		return -1;
	}
	if (gi_env_build(env, &u, s->tty, x->env) < 0) {
		free(env);
		queue_error(s->c, AGENT_ERR_INTERNAL, E2BIG, "environment too large", 126);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) < 0)
		goto fail;
	if (detach) {
		int dn = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (dn < 0)
			goto fail;
		fds[0] = fds[1] = fds[2] = dn;
		io[0][0] = dn;
	} else if (s->tty) {
		struct winsize ws = {.ws_row = x->rows ? x->rows : 24,
				     .ws_col = x->cols ? x->cols : 80};

		if (openpty(&s->master, &slave, NULL, NULL, &ws) < 0)
			goto fail;
		fcntl(s->master, F_SETFD, FD_CLOEXEC);
		fds[0] = fds[1] = fds[2] = slave;
	} else {
		for (i = 0; i < 3; i++)
			if (pipe2(io[i], O_CLOEXEC) < 0)
				goto fail;
		fds[0] = io[0][0];
		fds[1] = io[1][1];
		fds[2] = io[2][1];
	}
	s->pid = fork();
	if (s->pid < 0)
		goto fail;
	if (s->pid == 0)
		child_run(x, &u, env->v,
			  x->cwd	    ? x->cwd
			  : gi_workspace[0] ? gi_workspace
					    : u.home,
			  fds, slave, errp[1]);
	if (!detach && !s->tty)
		setpgid(s->pid, s->pid);
	close(errp[1]);
	errp[1] = -1;
	if (slave >= 0)
		close(slave);
	for (i = 0; i < 3; i++) {
		if (io[i][i == 0 ? 0 : 1] >= 0)
			close(io[i][i == 0 ? 0 : 1]);
		io[i][i == 0 ? 0 : 1] = -1;
	}
	do
		n = read(errp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	free(env);
	if (n == (ssize_t)sizeof(e)) {
		int st;

		while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
			;
		if (s->master >= 0)
			close(s->master);
		for (i = 0; i < 3; i++)
			if (io[i][i == 0 ? 1 : 0] >= 0)
				close(io[i][i == 0 ? 1 : 0]);
		s->master = -1;
		if (e.kind == AGENT_ERR_CWD)
			snprintf(msg, sizeof(msg), "working directory %s: %s",
				 x->cwd ? x->cwd : u.home, strerror(e.code));
		else if (e.kind == AGENT_ERR_USER)
			snprintf(msg, sizeof(msg), "switching to user %s: %s", u.name,
				 strerror(e.code));
		else
			snprintf(msg, sizeof(msg), "%s: %s", x->argv[0], strerror(e.code));
		queue_error(s->c, e.kind, e.code, msg, exec_status(&e));
		return -1;
	}
	if (s->tty) {
		s->in_fd = s->master;
		s->out_fd[0] = s->master;
		s->out_fd[1] = -1;
		set_nonblock(s->master);
	} else if (!detach) {
		s->in_fd = io[0][1];
		s->out_fd[0] = io[1][0];
		s->out_fd[1] = io[2][0];
		for (i = 0; i < 3; i++)
			set_nonblock(io[i][i == 0 ? 1 : 0]);
	}
	return 0;
fail:
	e.code = errno;
	snprintf(msg, sizeof(msg), "starting %s: %s", x->argv[0], strerror(e.code));
	for (i = 0; i < 3; i++) {
		if (io[i][0] >= 0)
			close(io[i][0]);
		if (io[i][1] >= 0)
			close(io[i][1]);
	}
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (slave >= 0)
		close(slave);
	if (s->master >= 0)
		close(s->master);
	s->master = -1;
	free(env);
	queue_error(s->c, AGENT_ERR_INTERNAL, e.code, msg, 126);
	return -1;
}

static void close_in(struct sess *s)
{
	if (s->in_fd >= 0 && s->in_fd != s->master)
		close(s->in_fd);
	s->in_fd = -1;
}

static void send_signal(struct sess *s, int sig)
{
	pid_t pg = s->pid;

	if (s->tty) {
		pid_t fg = tcgetpgrp(s->master);

		if (fg > 0)
			pg = fg;
	}
	if (kill(-pg, sig) < 0)
		kill(s->pid, sig);
}

/* Consume whole frames in c->in. Return 0, or -1 on a protocol error. */
static int host_frames(struct sess *s)
{
	struct gi_conn *c = s->c;
	size_t off = 0;
	int ret = 0;

	for (;;) {
		struct agent_hdr h;
		struct agent_msg m;
		long n = agent_frame_next(c->in + off, c->inlen - off, &h);

		if (n == 0)
			break;
		if (n < 0 || agent_parse_h2g(&h, c->in + off + SBX_FRAME_HDR, &m, NULL) < 0) {
			ret = -1;
			break;
		}
		if (m.type == AGENT_STDIN) {
			if (IN_CAP - s->ilen < m.u.data.n)
				break; /* full: leave it until the process reads */
			if (s->in_fd >= 0 && !s->eof_pending) {
				memcpy(s->ibuf + s->ilen, m.u.data.p, m.u.data.n);
				s->ilen += m.u.data.n;
			}
		} else if (m.type == AGENT_STDIN_EOF) {
			s->eof_pending = true;
		} else if (m.type == AGENT_RESIZE) {
			struct winsize ws = {.ws_row = m.u.size.rows, .ws_col = m.u.size.cols};

			if (s->tty && s->master >= 0)
				ioctl(s->master, TIOCSWINSZ, &ws);
		} else if (m.type == AGENT_SIGNAL) {
			if (!s->exited)
				send_signal(s, (int)m.u.signo);
		} else {
			ret = -1;
			break;
		}
		off += (size_t)n;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return ret;
}

/* Write pending stdin to the process; deliver EOF when asked and drained. */
static void feed_stdin(struct sess *s)
{
	while (s->ilen && s->in_fd >= 0) {
		ssize_t w = write(s->in_fd, s->ibuf, s->ilen);

		if (w > 0) {
			memmove(s->ibuf, s->ibuf + w, s->ilen - (size_t)w);
			s->ilen -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			return;
		} else {
			close_in(s); /* EPIPE: the process closed its stdin */
			s->ilen = 0;
		}
	}
	if (s->ilen == 0 && s->eof_pending && s->in_fd >= 0) {
		if (s->tty) {
			struct termios t;
			uint8_t eof = 4;

			if (tcgetattr(s->master, &t) == 0)
				eof = t.c_cc[VEOF];
			if (write(s->master, &eof, 1) < 0) {
				/* the process is gone; its exit follows */
			}
			s->in_fd = -1;
		} else {
			close_in(s);
		}
		s->eof_pending = false;
	}
}

/* Read process output into a STDOUT/STDERR frame. Return bytes, 0 at EOF/EIO, -1 EAGAIN. */
static ssize_t pump_out(struct sess *s, int i)
{
	struct gi_conn *c = s->c;
	ssize_t n;

	do
		n = read(s->out_fd[i], c->out + c->outlen + SBX_FRAME_HDR, SBX_CHUNK_MAX);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		agent_put_hdr(c->out + c->outlen, i ? AGENT_STDERR : AGENT_STDOUT, 0, (uint32_t)n);
		c->outlen += SBX_FRAME_HDR + (size_t)n;
		return n;
	}
	if (n < 0 && errno == EAGAIN)
		return -1;
	return 0;
}

static void close_out(struct sess *s, int i)
{
	if (s->out_fd[i] == s->master) {
		s->master = -1;
		s->in_fd = -1;
	} else if (s->in_fd == s->out_fd[i]) {
		s->in_fd = -1;
	}
	close(s->out_fd[i]);
	s->out_fd[i] = -1;
}

/* The host went away: hang up the process group, then kill it if it lingers (2 s). */
static void hang_up(struct sess *s)
{
	int st, i;

	send_signal(s, SIGHUP);
	kill(-s->pid, SIGHUP);
	kill(-s->pid, SIGCONT);
	for (i = 0; i < 200; i++) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);

		if (r == s->pid || (r < 0 && errno == ECHILD))
			return;
		usleep(10000);
	}
	kill(-s->pid, SIGKILL);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
}

static int relay(struct sess *s, int sfd)
{
	struct gi_conn *c = s->c;
	int quiet_ms = 100; /* after exit: output that does not arrive within this is abandoned */

	for (;;) {
		struct pollfd p[5];
		bool out_room = GI_OUT_CAP - c->outlen >= SBX_FRAME_HDR + SBX_CHUNK_MAX;
		int i, r, timeout = -1;

		if (s->exited && s->out_fd[0] < 0 && s->out_fd[1] < 0)
			break;
		if (c->inlen && host_frames(s) < 0) /* frames that came with EXEC, or waited */
			return -1;
		if (!s->exited)
			feed_stdin(s);
		p[0] = (struct pollfd){.fd = c->fd, .events = 0};
		if (!s->host_gone && c->inlen < sizeof(c->in) && s->ilen < IN_CAP - SBX_FRAME_MAX)
			p[0].events |= POLLIN;
		if (c->outlen)
			p[0].events |= POLLOUT;
		p[1] = (struct pollfd){.fd = s->exited ? -1 : sfd, .events = POLLIN};
		p[2] = (struct pollfd){.fd = out_room ? s->out_fd[0] : -1, .events = POLLIN};
		p[3] = (struct pollfd){.fd = out_room ? s->out_fd[1] : -1, .events = POLLIN};
		p[4] =
		    (struct pollfd){.fd = s->ilen && !s->exited ? s->in_fd : -1, .events = POLLOUT};
		if (s->tty && p[4].fd == p[2].fd) {
			p[2].events |= p[4].events;
			p[4].fd = -1;
		}
		if (s->exited && out_room)
			timeout = quiet_ms;
		r = poll(p, 5, timeout);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) { /* exited and quiet: whatever still holds the outputs is not ours */
			for (i = 0; i < 2; i++)
				if (s->out_fd[i] >= 0)
					close_out(s, i);
			continue;
		}
		if (r < 0)
			continue;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			int st;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				s->exited = true;
				s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				close_in(s);
			}
		}
		if (p[0].revents & POLLOUT && gi_conn_flush(c, false) < 0)
			return -1;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR) && c->inlen < sizeof(c->in)) {
			ssize_t n =
			    recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return -1;
			if (n > 0)
				c->inlen += (size_t)n;
			if (host_frames(s) < 0) {
				gi_log("exec: malformed frame from the host; ending the session");
				return -1;
			}
		}
		for (i = 0; i < 2; i++) {
			short ev = p[2 + i].revents;

			if (!(ev & (POLLIN | POLLHUP | POLLERR)) || s->out_fd[i] < 0)
				continue;
			if (GI_OUT_CAP - c->outlen < SBX_FRAME_HDR + SBX_CHUNK_MAX)
				continue;
			if (pump_out(s, i) == 0)
				close_out(s, i);
		}
		if (c->outlen && gi_conn_flush(c, false) < 0)
			return -1;
	}
	c->outlen += agent_put_u32(c->out + c->outlen, GI_OUT_CAP - c->outlen, AGENT_EXIT,
				   (uint32_t)s->status);
	return gi_conn_flush(c, true);
}

int gi_exec_session(struct gi_conn *c, const struct agent_exec_req *x, size_t frame_len)
{
	struct sess *s = calloc(1, sizeof(*s));
	sigset_t chld;
	int sfd, ret = 0, i;

	if (!s)
		return -1;
	s->c = c;
	s->tty = x->flags & AGENT_EXEC_TTY;
	s->master = s->in_fd = s->out_fd[0] = s->out_fd[1] = -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (spawn(s, x) < 0) {
		free(s);
		if (sfd >= 0)
			close(sfd);
		return gi_conn_flush(c, true);
	}
	/* the EXEC frame has been used; what follows it is the session's */
	memmove(c->in, c->in + frame_len, c->inlen - frame_len);
	c->inlen -= frame_len;
	if (x->flags & AGENT_EXEC_DETACH) {
		c->outlen += agent_put_u32(c->out + c->outlen, GI_OUT_CAP - c->outlen,
					   AGENT_STARTED, (uint32_t)s->pid);
		ret = gi_conn_flush(c, true);
	} else {
		/* without -i: stdin is empty (pipes: EOF at once; a pty just gets no input) */
		if (!(x->flags & AGENT_EXEC_INTERACTIVE) && !s->tty)
			s->eof_pending = true;
		if (sfd < 0 || relay(s, sfd) < 0) {
			if (!s->exited)
				hang_up(s);
			ret = -1;
		}
	}
	for (i = 0; i < 2; i++)
		if (s->out_fd[i] >= 0)
			close_out(s, i);
	close_in(s);
	if (sfd >= 0)
		close(sfd);
	free(s);
	return ret;
}
