/* The guest's network face at boot: the dummy interface sbx0 (198.18.0.1/15, no IPv6), the
 * IPv4 default route via it (rtnetlink), resolv.conf naming the DNS stub, the proxy variables
 * for login shells and sudo, and the netfilter REDIRECT rule (loaded by a child meanwhile).
 * Runs in PID 1 after the switch root; never fatal, never blocks boot for more than ~2.5 s,
 * and opens no path off the VM. */
#include "guest/gi.h"
#include "proto/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* rtnetlink, spelled out: musl's headers carry no <linux/rtnetlink.h>. */
struct gi_nlmsghdr {
	uint32_t len;
	uint16_t type, flags;
	uint32_t seq, pid;
};
struct gi_ifinfomsg {
	uint8_t family, pad;
	uint16_t type;
	int32_t index;
	uint32_t flags, change;
};
struct gi_ifaddrmsg {
	uint8_t family, prefixlen, flags, scope;
	uint32_t index;
};
struct gi_rtmsg {
	uint8_t family, dst_len, src_len, tos, table, protocol, scope, type;
	uint32_t flags;
};
struct gi_rtattr {
	uint16_t len, type;
};
#define GI_NETLINK_ROUTE  0
#define GI_NLMSG_ERROR	  2
#define GI_NLM_F_REQUEST  0x1
#define GI_NLM_F_ACK	  0x4
#define GI_NLM_F_EXCL	  0x200
#define GI_NLM_F_CREATE	  0x400
#define GI_RTM_NEWLINK	  16
#define GI_RTM_DELLINK	  17
#define GI_RTM_NEWADDR	  20
#define GI_RTM_NEWROUTE	  24
#define GI_IFLA_IFNAME	  3
#define GI_IFLA_LINKINFO  18
#define GI_IFLA_INFO_KIND 1
#define GI_IFA_ADDRESS	  1
#define GI_IFA_LOCAL	  2
#define GI_RTA_OIF	  4
#define GI_RT_TABLE_MAIN  254
#define GI_RTPROT_BOOT	  3
#define GI_RT_SCOPE_LINK  253
#define GI_RTN_UNICAST	  1
#define NL_ALIGN(n)	  (((n) + 3u) & ~3u)

/* A request being built: header, family message, attributes. */
struct nlreq {
	union {
		struct gi_nlmsghdr h;
		uint8_t b[512];
	};
};

static void *nl_tail(struct nlreq *r)
{
	return r->b + NL_ALIGN(r->h.len);
}

/* Append attribute @type with @n bytes of @data; returns the attribute (to nest into). */
static struct gi_rtattr *nl_attr(struct nlreq *r, uint16_t type, const void *data, size_t n)
{
	struct gi_rtattr *a = nl_tail(r);

	a->type = type;
	a->len = (uint16_t)(sizeof(*a) + n);
	if (n)
		memcpy(a + 1, data, n);
	r->h.len = NL_ALIGN(r->h.len) + NL_ALIGN(a->len);
	return a;
}

/* Send @r and wait for its acknowledgement. Return 0, or -1 with errno. */
static int nl_talk(int fd, struct nlreq *r)
{
	static uint32_t seq;
	uint8_t ans[1024];
	struct sockaddr_nl {
		sa_family_t family;
		unsigned short pad;
		uint32_t pid, groups;
	} kernel = {.family = AF_NETLINK};

	r->h.seq = ++seq;
	r->h.flags |= GI_NLM_F_REQUEST | GI_NLM_F_ACK;
	if (sendto(fd, r, r->h.len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		struct gi_nlmsghdr h;
		int32_t err;

		if (poll(&p, 1, 1000) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = recv(fd, ans, sizeof(ans), 0);
		if (n < (ssize_t)(sizeof(h) + sizeof(err)))
			return -1;
		memcpy(&h, ans, sizeof(h));
		if (h.seq != seq || h.type != GI_NLMSG_ERROR)
			continue;
		memcpy(&err, ans + sizeof(h), sizeof(err));
		errno = -err;
		return err ? -1 : 0;
	}
}

static void nl_begin(struct nlreq *r, uint16_t type, uint16_t flags, const void *msg, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->h.len = (uint32_t)(sizeof(r->h) + n);
	r->h.type = type;
	r->h.flags = flags;
	memcpy(r->b + sizeof(r->h), msg, n);
}

static int link_create(int fd)
{
	struct gi_ifinfomsg ifi = {.family = AF_UNSPEC};
	struct nlreq r;
	struct gi_rtattr *info;

	nl_begin(&r, GI_RTM_NEWLINK, GI_NLM_F_CREATE | GI_NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_attr(&r, GI_IFLA_IFNAME, EGRESS_GUEST_IFNAME, sizeof(EGRESS_GUEST_IFNAME));
	info = nl_attr(&r, GI_IFLA_LINKINFO, NULL, 0);
	nl_attr(&r, GI_IFLA_INFO_KIND, "dummy", 5);
	info->len = (uint16_t)(r.b + r.h.len - (uint8_t *)info);
	return nl_talk(fd, &r) < 0 && errno != EEXIST ? -1 : 0;
}

/* Loading the dummy module made "dummy0" (numdummies=1): the guest has only lo and sbx0. */
static void link_del(int fd, const char *name)
{
	struct gi_ifinfomsg ifi = {.family = AF_UNSPEC, .index = (int32_t)if_nametoindex(name)};
	struct nlreq r;

	if (ifi.index <= 0)
		return;
	nl_begin(&r, GI_RTM_DELLINK, 0, &ifi, sizeof(ifi));
	if (nl_talk(fd, &r) < 0)
		gi_log("egress network: removing %s: %s", name, strerror(errno));
}

static int link_up(int fd, int index)
{
	struct gi_ifinfomsg ifi = {
	    .family = AF_UNSPEC, .index = index, .flags = IFF_UP, .change = IFF_UP};
	struct nlreq r;

	nl_begin(&r, GI_RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return nl_talk(fd, &r);
}

static int addr_add(int fd, int index)
{
	struct gi_ifaddrmsg ifa = {
	    .family = AF_INET, .prefixlen = EGRESS_GUEST_PREFIX, .index = (uint32_t)index};
	struct nlreq r;
	struct in_addr a;

	inet_pton(AF_INET, EGRESS_GUEST_ADDR, &a);
	nl_begin(&r, GI_RTM_NEWADDR, GI_NLM_F_CREATE | GI_NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_attr(&r, GI_IFA_LOCAL, &a, 4);
	nl_attr(&r, GI_IFA_ADDRESS, &a, 4);
	return nl_talk(fd, &r) < 0 && errno != EEXIST ? -1 : 0;
}

/* "ip route add default dev sbx0" */
static int route_default(int fd, int index)
{
	struct gi_rtmsg rt = {.family = AF_INET,
			      .table = GI_RT_TABLE_MAIN,
			      .protocol = GI_RTPROT_BOOT,
			      .scope = GI_RT_SCOPE_LINK,
			      .type = GI_RTN_UNICAST};
	struct nlreq r;
	uint32_t oif = (uint32_t)index;

	nl_begin(&r, GI_RTM_NEWROUTE, GI_NLM_F_CREATE | GI_NLM_F_EXCL, &rt, sizeof(rt));
	nl_attr(&r, GI_RTA_OIF, &oif, 4);
	return nl_talk(fd, &r) < 0 && errno != EEXIST ? -1 : 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[256];
	int fd;
	size_t n = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.sbx-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) { /* rename also replaces a symlink (systemd-resolved's) */
		gi_log("writing %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	}
}

/* resolv.conf, and the proxy variables for login shells and sudo (an exec's own env wins). */
static void write_config(void)
{
	static const char *const vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
					   "http_proxy", "https_proxy", "all_proxy"};
	char prof[2048];
	size_t o = 0;
	struct stat st;

	write_file("/etc/resolv.conf",
		   "# sbx: the guest's DNS stub (answers come from sbxd)\n"
		   "nameserver " EGRESS_GUEST_ADDR "\n",
		   0644);
	o += (size_t)snprintf(prof + o, sizeof(prof) - o,
			      "# sbx: every connection leaves through sbxd's egress proxy\n");
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		o += (size_t)snprintf(prof + o, sizeof(prof) - o,
				      ": \"${%s:=" GI_PROXY_URL "}\"; export %s\n", vars[i],
				      vars[i]);
	snprintf(prof + o, sizeof(prof) - o,
		 ": \"${NO_PROXY:=" GI_NO_PROXY "}\"; export NO_PROXY\n"
		 ": \"${no_proxy:=" GI_NO_PROXY "}\"; export no_proxy\n");
	if (stat("/etc/profile.d", &st) == 0 && S_ISDIR(st.st_mode))
		write_file("/etc/profile.d/sbx-proxy.sh", prof, 0644);
	if (stat("/etc/sudoers.d", &st) == 0 && S_ISDIR(st.st_mode))
		write_file("/etc/sudoers.d/sbx-proxy",
			   "Defaults env_keep += \"HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY\"\n"
			   "Defaults env_keep += \"http_proxy https_proxy all_proxy no_proxy\"\n",
			   0440);
}

static void sysctl_set(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) < 0)
		gi_log("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The rules load in a child meanwhile (iptables takes ~0.5 s under TCG): wait for it, at most
 * 2.5 s; one that overruns is left to the server's reaping (it kills its iptables at 2 s). */
static void filter_wait(pid_t pid)
{
	long t0 = mono_ms();

	while (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0 && mono_ms() - t0 < 2500)
		usleep(2000);
}

int gi_net_setup(void)
{
	pid_t filter = fork();
	int fd, index, rc = 0;
	const char *step = "opening rtnetlink";

	if (filter == 0)
		_exit(gi_net_filter() < 0);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, GI_NETLINK_ROUTE);

	if (fd < 0)
		goto fail;
	link_del(fd, "dummy0");
	step = "creating the dummy interface " EGRESS_GUEST_IFNAME " (module dummy)";
	if (link_create(fd) < 0)
		goto fail;
	step = "finding " EGRESS_GUEST_IFNAME;
	index = (int)if_nametoindex(EGRESS_GUEST_IFNAME);
	if (index <= 0)
		goto fail;
	/* no IPv6 on sbx0 (not even link-local): IPv6 has no route, so it fails at once */
	sysctl_set("/proc/sys/net/ipv6/conf/" EGRESS_GUEST_IFNAME "/disable_ipv6", "1");
	step = "adding " EGRESS_GUEST_ADDR " to " EGRESS_GUEST_IFNAME;
	if (addr_add(fd, index) < 0)
		goto fail;
	step = "bringing up " EGRESS_GUEST_IFNAME;
	if (link_up(fd, index) < 0)
		goto fail;
	step = "adding the default route via " EGRESS_GUEST_IFNAME;
	if (route_default(fd, index) < 0)
		goto fail;
	goto done;
fail:
	gi_log("egress network: %s: %s", step, strerror(errno));
	rc = -1;
done:
	if (fd >= 0)
		close(fd);
	write_config();
	filter_wait(filter);
	return rc;
}

/* The rules, for iptables-restore --noflush; every egress rule lives in these two chains
 * (dockerd, started later, adds its own chains and jumps but never flushes built-in ones).
 * - OUTPUT: what the routing sends out sbx0 (not lo, not a Docker bridge: docker-proxy and
 *   the agent reach containers directly) goes to the transparent relay.
 * - PREROUTING from Docker's bridges (docker0, br-* of user networks such as compose's): the
 *   same, but for traffic between containers (Docker's address pools 172.16/12, 192.168/16;
 *   br_netfilter shows bridged packets here too) and to the bridges' own addresses. REDIRECT
 *   sends it to the bridge's address: the relay listens on 0.0.0.0:3129 (relay.c).
 * Containers resolve through the stub: Docker copies resolv.conf (198.18.0.1 is no loopback). */
static const char filter_rules[] = "*nat\n"
				   ":SBX_EGRESS - [0:0]\n"
				   ":SBX_CONTAINERS - [0:0]\n"
				   "-A OUTPUT -o " EGRESS_GUEST_IFNAME " -p tcp -j SBX_EGRESS\n"
				   "-A PREROUTING -i docker0 -p tcp -j SBX_CONTAINERS\n"
				   "-A PREROUTING -i br-+ -p tcp -j SBX_CONTAINERS\n"
				   "-A SBX_CONTAINERS -d 172.16.0.0/12 -j RETURN\n"
				   "-A SBX_CONTAINERS -d 192.168.0.0/16 -j RETURN\n"
				   "-A SBX_CONTAINERS -j SBX_EGRESS\n"
				   "-A SBX_EGRESS -d 127.0.0.0/8 -j RETURN\n"
				   "-A SBX_EGRESS -d " EGRESS_GUEST_ADDR "/32 -j RETURN\n"
				   "-A SBX_EGRESS -p tcp -j REDIRECT --to-ports 3129\n"
				   "COMMIT\n";

int gi_net_filter(void)
{
	static const char prog[] = "/usr/sbin/iptables-restore";
	int in[2], out[2], st = 0;
	char msg[512];
	size_t mlen = 0;
	pid_t pid;
	long t0 = mono_ms();

	if (access("/usr/sbin/iptables", X_OK) < 0 || access(prog, X_OK) < 0)
		return 1;
	if (pipe2(in, O_CLOEXEC) < 0)
		goto fail_errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		goto fail_errno;
	}
	pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)prog, "-w", "2", "--noflush", NULL};
		char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execve(prog, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		goto fail_errno;
	}
	signal(SIGPIPE, SIG_IGN);
	if (write(in[1], filter_rules, sizeof(filter_rules) - 1) < 0)
		st = -1;
	close(in[1]);
	for (;;) { /* collect its words until it exits, for at most ~2 s */
		struct pollfd p = {.fd = out[0], .events = POLLIN};
		long left = 2000 - (mono_ms() - t0);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(out[0], msg + mlen, sizeof(msg) - 1 - mlen);
		if (n <= 0)
			break;
		mlen += (size_t)n;
		if (mlen == sizeof(msg) - 1)
			break;
	}
	close(out[0]);
	msg[mlen] = 0;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ms() - t0 > 2000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			gi_log("netfilter: %s took over 2 s; killed (no transparent redirect)",
			       prog);
			return -1;
		}
		usleep(5000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = *(p + 1) ? ' ' : 0;
	gi_log("netfilter: %s failed (status %d): %s (no transparent redirect)", prog,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), msg);
	return -1;
fail_errno:
	gi_log("netfilter: %s", strerror(errno));
	return -1;
}
