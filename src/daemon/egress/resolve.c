/* Name resolution for the egress service: getaddrinfo() blocks, so two worker threads run it
 * and hand results back to the egress loop through a pipe. SBX_HOSTS_FILE (a test hook, hosts(5)
 * format) is consulted first. Workers see only copies of a name and a token; a result whose
 * connection is gone is dropped by the loop. Never resolves anything the loop did not ask for. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/egress/egress.h"
#include "daemon/egress/egress_int.h"

#define RES_WORKERS   2
#define RES_QUEUE_MAX 1024

struct res_job {
	uint64_t token;
	char host[EG_HOST_MAX + 1];
	int err;
	size_t n;
	struct pol_addr addrs[EG_ADDRS_MAX];
	struct res_job *next;
};

static pthread_mutex_t res_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t res_cv = PTHREAD_COND_INITIALIZER;
static struct res_job *todo_head, *todo_tail, *done_head;
static unsigned todo_len;
static int res_pipe[2] = {-1, -1};
static eg_resolved_cb res_cb;

const char *egress_resolve_hosts_file(void)
{
	const char *f = getenv("SBX_HOSTS_FILE");
	return f && *f ? f : NULL;
}

/* @host in the hosts file: up to EG_ADDRS_MAX addresses. Return how many. */
static size_t hosts_lookup(const char *file, const char *host, struct pol_addr *out)
{
	FILE *f = fopen(file, "re");
	char line[512];
	size_t n = 0;

	while (f && n < EG_ADDRS_MAX && fgets(line, sizeof(line), f)) {
		char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save), *name;
		struct pol_addr a;

		if (!addr || addr[0] == '#' || pol_addr_parse(addr, &a) < 0)
			continue;
		while ((name = strtok_r(NULL, " \t\r\n", &save)) && name[0] != '#')
			if (strcasecmp(name, host) == 0) {
				out[n++] = a;
				break;
			}
	}
	if (f)
		fclose(f);
	return n;
}

static void resolve_one(struct res_job *j)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res, *ai;
	const char *hf = egress_resolve_hosts_file();
	int rc;

	j->n = 0;
	j->err = 0;
	if (hf && (j->n = hosts_lookup(hf, j->host, j->addrs)) > 0)
		return;
	rc = getaddrinfo(j->host, NULL, &hints, &res);
	if (rc != 0) {
		j->err = rc == EAI_NONAME || rc == EAI_NODATA ? ENOENT : EHOSTUNREACH;
		return;
	}
	for (ai = res; ai && j->n < EG_ADDRS_MAX; ai = ai->ai_next) {
		struct pol_addr *a = &j->addrs[j->n];

		memset(a, 0, sizeof(*a));
		if (ai->ai_family == AF_INET) {
			a->family = AF_INET;
			memcpy(a->a, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			a->family = AF_INET6;
			memcpy(a->a, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		j->n++;
	}
	freeaddrinfo(res);
	if (!j->n)
		j->err = ENOENT;
}

static void *worker(void *arg)
{
	for (;;) {
		struct res_job *j;

		pthread_mutex_lock(&res_lock);
		while (!todo_head)
			pthread_cond_wait(&res_cv, &res_lock);
		j = todo_head;
		todo_head = j->next;
		if (!todo_head)
			todo_tail = NULL;
		todo_len--;
		pthread_mutex_unlock(&res_lock);

		resolve_one(j);

		pthread_mutex_lock(&res_lock);
		j->next = done_head;
		done_head = j;
		pthread_mutex_unlock(&res_lock);
		(void)!write(res_pipe[1], "r", 1);
	}
	return arg;
}

static void on_done(int fd, uint32_t events, void *opaque)
{
	char drain[64];
	struct res_job *j;

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&res_lock);
	j = done_head;
	done_head = NULL;
	pthread_mutex_unlock(&res_lock);
	while (j) {
		struct res_job *next = j->next;

		res_cb(j->token, j->err, j->addrs, j->n);
		free(j);
		j = next;
	}
}

int eg_resolver_start(struct evloop *l, eg_resolved_cb cb)
{
	pthread_t t;

	res_cb = cb;
	if (pipe2(res_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    evloop_add(l, res_pipe[0], EPOLLIN, on_done, NULL) < 0) {
		sbx_err("egress: resolver pipe: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < RES_WORKERS; i++) {
		int rc = pthread_create(&t, NULL, worker, NULL);
		if (rc) {
			sbx_err("egress: resolver thread: %s", strerror(rc));
			return -1;
		}
		pthread_detach(t);
	}
	return 0;
}

int eg_resolve_submit(const char *host, uint64_t token)
{
	struct res_job *j;

	pthread_mutex_lock(&res_lock);
	if (todo_len >= RES_QUEUE_MAX) {
		pthread_mutex_unlock(&res_lock);
		return -1;
	}
	pthread_mutex_unlock(&res_lock);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->token = token;
	snprintf(j->host, sizeof(j->host), "%s", host);
	pthread_mutex_lock(&res_lock);
	if (todo_tail)
		todo_tail->next = j;
	else
		todo_head = j;
	todo_tail = j;
	todo_len++;
	pthread_cond_signal(&res_cv);
	pthread_mutex_unlock(&res_lock);
	return 0;
}
