/* Unit tests for the CLI's pure logic: flag parsing (exec's stop-at-NAME, clusters, values,
 * "--", errors), memory sizes, cpu counts, sandbox names, table formatting, port specs and
 * sbxd's publication objects. No daemon. */
#include "cli/api_client.h"
#include "cli/cli.h"
#include "common/err.h"
#include "t.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static char errbuf[4096];
static int saved_stderr = -1;

/* Capture stderr into errbuf between err_begin() and err_end(). */
static void err_begin(void)
{
	char tmpl[] = "/tmp/cli_args_test.XXXXXX";
	int fd = mkstemp(tmpl);
	unlink(tmpl);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static const char *err_end(void)
{
	ssize_t n;
	fflush(stderr);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	n = read(STDERR_FILENO, errbuf, sizeof(errbuf) - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	return errbuf;
}

TEST(exec_flags_stop_at_name)
{
	char *v[] = {"exec",   "-it",  "-e",  "A=1", "-eB=2", "--env=C=3", "-w", "/tmp",
		     "--user", "root", "box", "ls",  "-la",   "-e",	   "X",	 NULL};
	struct exec_args a;

	CHECK_EQ(exec_args_parse(ARGC(v), v, &a), 0);
	CHECK(a.interactive && a.tty && !a.detach);
	CHECK_EQ(a.nenv, 3);
	CHECK_STR(a.env[0], "A=1");
	CHECK_STR(a.env[1], "B=2");
	CHECK_STR(a.env[2], "C=3");
	CHECK(a.env[3] == NULL);
	CHECK_STR(a.workdir, "/tmp");
	CHECK_STR(a.user, "root");
	CHECK_STR(a.name, "box");
	CHECK_EQ(a.argc, 4);
	CHECK_STR(a.argv[0], "ls");
	CHECK_STR(a.argv[1], "-la");
	CHECK_STR(a.argv[3], "X");
	CHECK(a.argv[4] == NULL);
	exec_args_free(&a);
}

TEST(exec_env_from_local)
{
	char *v[] = {"exec", "-e", "SBXT_SET", "-e", "SBXT_UNSET", "-d", "b", "true", NULL};
	struct exec_args a;

	setenv("SBXT_SET", "v a l", 1);
	unsetenv("SBXT_UNSET");
	CHECK_EQ(exec_args_parse(ARGC(v), v, &a), 0);
	CHECK_EQ(a.nenv, 1);
	CHECK_STR(a.env[0], "SBXT_SET=v a l");
	CHECK(a.detach);
	exec_args_free(&a);
}

TEST(exec_errors)
{
	struct exec_args a;
	char *unknown[] = {"exec", "--foo", "box", "ls", NULL};
	char *nocmd[] = {"exec", "-i", "box", NULL};
	char *noname[] = {"exec", "-t", NULL};
	char *noval[] = {"exec", "-u", NULL};
	char *shortunk[] = {"exec", "-iz", "box", "ls", NULL};
	char *detachi[] = {"exec", "-di", "box", "ls", NULL};

	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(unknown), unknown, &a), 1);
	CHECK_STR(err_end(), "sbx: unknown flag --foo for exec (see sbx exec --help)\n");
	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(nocmd), nocmd, &a), 1);
	CHECK(strstr(err_end(), "missing CMD") != NULL);
	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(noname), noname, &a), 1);
	CHECK(strstr(err_end(), "missing NAME") != NULL);
	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(noval), noval, &a), 1);
	CHECK_STR(err_end(), "sbx: flag -u for exec needs a value (see sbx exec --help)\n");
	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(shortunk), shortunk, &a), 1);
	CHECK_STR(err_end(), "sbx: unknown flag -z for exec (see sbx exec --help)\n");
	err_begin();
	CHECK_EQ(exec_args_parse(ARGC(detachi), detachi, &a), 1);
	CHECK(strstr(err_end(), "-d cannot be combined") != NULL);
}

TEST(exec_help)
{
	char *v[] = {"exec", "-i", "--help", NULL};
	struct exec_args a;
	CHECK_EQ(exec_args_parse(ARGC(v), v, &a), 0);
	CHECK(a.help);
	exec_args_free(&a);
}

enum { O_NAME = 10, O_MEM, O_QUIET };

TEST(interspersed_flags_and_dashdash)
{
	static const struct cli_opt opts[] = {
	    {0, "name", CLI_ARG_VALUE, O_NAME},
	    {'m', "memory", CLI_ARG_VALUE, O_MEM},
	    {'q', "quiet", CLI_ARG_NONE, O_QUIET},
	    {0, NULL, 0, 0},
	};
	char *v[] = {"run", "shell", "--name", "x", "-m4g", ".", "-q", "--", "-c", "--name", NULL};
	struct cli_parser ps;
	int id;

	cli_parser_init(&ps, ARGC(v), v, "run", opts, false);
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_POSITIONAL);
	CHECK_STR(ps.value, "shell");
	CHECK_EQ(cli_opt_next(&ps), O_NAME);
	CHECK_STR(ps.value, "x");
	CHECK_EQ(cli_opt_next(&ps), O_MEM);
	CHECK_STR(ps.value, "4g");
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_POSITIONAL);
	CHECK_STR(ps.value, ".");
	CHECK(!ps.after_dashdash);
	CHECK_EQ(cli_opt_next(&ps), O_QUIET);
	id = cli_opt_next(&ps);
	CHECK_EQ(id, CLI_OPT_POSITIONAL);
	CHECK_STR(ps.value, "-c");
	CHECK(ps.after_dashdash);
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_POSITIONAL);
	CHECK_STR(ps.value, "--name");
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_END);
}

TEST(flag_value_errors)
{
	static const struct cli_opt opts[] = {
	    {0, "name", CLI_ARG_VALUE, O_NAME},
	    {'q', "quiet", CLI_ARG_NONE, O_QUIET},
	    {0, NULL, 0, 0},
	};
	char *v1[] = {"create", "--name", NULL};
	char *v2[] = {"create", "--quiet=yes", NULL};
	char *v3[] = {"create", "-", NULL};
	struct cli_parser ps;

	cli_parser_init(&ps, ARGC(v1), v1, "create", opts, false);
	err_begin();
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_ERROR);
	CHECK_STR(err_end(), "sbx: flag --name for create needs a value (see sbx create --help)\n");
	cli_parser_init(&ps, ARGC(v2), v2, "create", opts, false);
	err_begin();
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_ERROR);
	CHECK(strstr(err_end(), "takes no value") != NULL);
	cli_parser_init(&ps, ARGC(v3), v3, "create", opts, false);
	CHECK_EQ(cli_opt_next(&ps), CLI_OPT_POSITIONAL); /* "-" is an argument */
	CHECK_STR(ps.value, "-");
}

TEST(memory_sizes)
{
	CHECK_EQ(cli_parse_memory("4g"), 4096);
	CHECK_EQ(cli_parse_memory("4G"), 4096);
	CHECK_EQ(cli_parse_memory("4gb"), 4096);
	CHECK_EQ(cli_parse_memory("4GiB"), 4096);
	CHECK_EQ(cli_parse_memory("512m"), 512);
	CHECK_EQ(cli_parse_memory("512"), 512);
	CHECK_EQ(cli_parse_memory("1.5g"), 1536);
	CHECK_EQ(cli_parse_memory("1048576k"), 1024);
	CHECK_EQ(cli_parse_memory("1t"), 1048576);
	CHECK_EQ(cli_parse_memory(""), -1);
	CHECK_EQ(cli_parse_memory("g"), -1);
	CHECK_EQ(cli_parse_memory("-1g"), -1);
	CHECK_EQ(cli_parse_memory("4x"), -1);
	CHECK_EQ(cli_parse_memory("4gx"), -1);
	CHECK_EQ(cli_parse_memory("0"), -1);
	CHECK_EQ(cli_parse_memory("100k"), -1); /* not a whole MiB */
	CHECK_EQ(cli_parse_memory("2t"), -1);	/* over 1 TiB */
	CHECK_EQ(cli_parse_memory("99999999999999999999g"), -1);
	CHECK_EQ(cli_parse_memory(NULL), -1);
}

TEST(cpu_counts)
{
	CHECK_EQ(cli_parse_cpus("1"), 1);
	CHECK_EQ(cli_parse_cpus("16"), 16);
	CHECK_EQ(cli_parse_cpus("0"), -1);
	CHECK_EQ(cli_parse_cpus("-2"), -1);
	CHECK_EQ(cli_parse_cpus("2x"), -1);
	CHECK_EQ(cli_parse_cpus("257"), -1);
	CHECK_EQ(cli_parse_cpus(""), -1);
}

TEST(names)
{
	char out[64];

	CHECK(cli_name_valid("shell-proj"));
	CHECK(cli_name_valid("0a_b.c-d"));
	CHECK(!cli_name_valid(""));
	CHECK(!cli_name_valid("-x"));
	CHECK(!cli_name_valid("Shell"));
	CHECK(!cli_name_valid("a/b"));
	CHECK(!cli_name_valid("a b"));
	CHECK(cli_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 40 */
	CHECK(!cli_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 41 */

	cli_name_sanitize("My Project!", out, sizeof(out));
	CHECK_STR(out, "my-project");
	cli_name_sanitize("__x  y__", out, sizeof(out));
	CHECK_STR(out, "x-y");
	cli_name_sanitize("...", out, sizeof(out));
	CHECK_STR(out, "sandbox");
	cli_name_sanitize("\xc3\x9c"
			  "ber",
			  out, sizeof(out));
	CHECK_STR(out, "ber");
	cli_name_sanitize("a123456789b123456789c123456789d123456789e123", out, sizeof(out));
	CHECK_EQ(strlen(out), 40);
	CHECK(cli_name_valid(out));
	cli_name_sanitize("proj", out, 3);
	CHECK_STR(out, "pr");
}

static char *table(const char *const *h, size_t nc, const char *const *cells, size_t nr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cli_table_print(f, h, nc, cells, nr);
	fclose(f);
	return buf;
}

TEST(table_alignment)
{
	static const char *const h[] = {"SANDBOX", "AGENT", "STATUS", "PORTS", "WORKSPACE"};
	static const char *const cells[] = {
	    "shell-proj", "shell", "running", "",   "/home/me/proj",
	    "x",	  "shell", "stopped", NULL, "/w",
	};
	char *t = table(h, 5, cells, 2);
	CHECK_STR(t, "SANDBOX      AGENT   STATUS    PORTS   WORKSPACE\n"
		     "shell-proj   shell   running           /home/me/proj\n"
		     "x            shell   stopped           /w\n");
	free(t);

	static const char *const h2[] = {"A", "B"};
	static const char *const c2[] = {"long-value", ""};
	t = table(h2, 2, c2, 1);
	CHECK_STR(t, "A            B\nlong-value\n"); /* no trailing spaces */
	free(t);
	t = table(h, 5, NULL, 0);
	CHECK_STR(t, "SANDBOX   AGENT   STATUS   PORTS   WORKSPACE\n");
	free(t);
}

/* parse @s whole, and also fed in every split, expecting the same outcome */
static int http(const char *s, bool eof, char *body, struct api_http_msg *m)
{
	size_t n = strlen(s);
	int whole = api_http_parse(s, n, eof, body, m);
	for (size_t cut = 0; cut < n; cut++) {
		struct api_http_msg pm;
		char tmp[4096];
		int r = api_http_parse(s, cut, false, tmp, &pm);
		if (r == 1 && whole != 1)
			return 99; /* a prefix must never complete what the whole refuses */
		if (r == -1 && whole != -1)
			return 98; /* nor be refused when the whole is fine */
	}
	return whole;
}

TEST(http_content_length)
{
	char body[4096];
	struct api_http_msg m;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: 7\r\n\r\n{\"a\":1}";

	CHECK_EQ(http(ok, false, body, &m), 1);
	CHECK_EQ(m.status, 200);
	CHECK_EQ(m.body_len, 7);
	CHECK(memcmp(body, "{\"a\":1}", 7) == 0);
	CHECK_EQ(http("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", false, body, &m), 1);
	CHECK_EQ(m.status, 204);
	CHECK_EQ(m.body_len, 0);
	CHECK_EQ(http("HTTP/1.0 404 Not Found\r\ncontent-length:  2 \r\n\r\n{}", false, body, &m),
		 1);
	CHECK_EQ(m.status, 404);
	/* close-delimited body: complete only at EOF */
	CHECK_EQ(api_http_parse("HTTP/1.1 200 OK\r\n\r\nabc", 22, false, body, &m), 0);
	CHECK_EQ(api_http_parse("HTTP/1.1 200 OK\r\n\r\nabc", 22, true, body, &m), 1);
	CHECK_EQ(m.body_len, 3);
	/* truncated at EOF */
	CHECK_EQ(api_http_parse(ok, strlen(ok) - 1, true, body, &m), -1);
}

TEST(http_chunked)
{
	char body[4096];
	struct api_http_msg m;
	const char *ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3\r\nabc\r\nA;x=y\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";

	CHECK_EQ(http(ok, false, body, &m), 1);
	CHECK_EQ(m.body_len, 13);
	CHECK(memcmp(body, "abc0123456789", 13) == 0);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", false,
		      body, &m),
		 -1);
	CHECK_EQ(
	    http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, body, &m),
	    -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n",
		      false, body, &m),
		 -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, body, &m), -1);
}

TEST(http_malformed)
{
	char body[4096];
	struct api_http_msg m;

	CHECK_EQ(http("HTTP/1.1 20 OK\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/2 200 OK\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 100 Continue\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 700 X\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, body, &m), -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", false, body, &m),
		 -1);
	CHECK_EQ(http("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
		      body, &m),
		 -1);
	CHECK_EQ(api_http_parse("HTTP/1.1 200", 12, true, body, &m), -1);
	CHECK_EQ(api_http_parse("", 0, false, body, &m), 0);
}

TEST(mount_args)
{
	char path[64];
	bool ro;

	setenv("HOME", "/home/me", 1);
	CHECK_EQ(cli_mount_parse("~/docs:ro", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "/home/me/docs");
	CHECK(ro);
	CHECK_EQ(cli_mount_parse("/srv/data", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "/srv/data");
	CHECK(!ro);
	CHECK_EQ(cli_mount_parse("rel/dir:rw", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "rel/dir");
	CHECK(!ro);
	CHECK_EQ(cli_mount_parse("~", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "/home/me");
	CHECK_EQ(cli_mount_parse("~other/x", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "~other/x"); /* only the own home is expanded */
	CHECK_EQ(cli_mount_parse("/a:b:ro", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "/a:b");
	CHECK(ro);
	CHECK_EQ(cli_mount_parse("/x:rox", path, sizeof(path), &ro), 0);
	CHECK_STR(path, "/x:rox");
	CHECK_EQ(cli_mount_parse(":ro", path, sizeof(path), &ro), -1);
	CHECK_EQ(cli_mount_parse("", path, sizeof(path), &ro), -1);
	CHECK_EQ(
	    cli_mount_parse("/a/very/long/path/that/does/not/fit/in/sixty-four/bytes/at/all/x/y",
			    path, sizeof(path), &ro),
	    -1);
	unsetenv("HOME");
	CHECK_EQ(cli_mount_parse("~/docs", path, sizeof(path), &ro), -1);
}

TEST(abspath_keeps_symlinks)
{
	char dir[] = "/tmp/sbx-abspath.XXXXXX", p[PATH_MAX], out[PATH_MAX], old[PATH_MAX];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/real", dir);
	CHECK_EQ(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	CHECK_EQ(symlink("real", p), 0);
	CHECK_EQ(cli_abspath("/a//b/./c/", out, sizeof(out)), 0);
	CHECK_STR(out, "/a/b/c");
	CHECK_EQ(cli_abspath("/", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	CHECK_EQ(cli_abspath(p, out, sizeof(out)), 0); /* a symlink stays itself */
	CHECK_STR(out, p);
	CHECK(getcwd(old, sizeof(old)) != NULL);
	CHECK_EQ(chdir(p), 0);
	setenv("PWD", p, 1); /* the shell's logical directory is used when it is "." */
	CHECK_EQ(cli_abspath(".", out, sizeof(out)), 0);
	CHECK_STR(out, p);
	CHECK_EQ(cli_abspath("x/./y", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/link/x/y", dir);
	CHECK_STR(out, p);
	setenv("PWD", "/nonexistent", 1); /* a stale $PWD is ignored */
	CHECK_EQ(cli_abspath(".", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/real", dir);
	CHECK_STR(out, p);
	CHECK_EQ(cli_abspath("../real", out, sizeof(out)), 0); /* ".." resolves physically */
	CHECK_STR(out, p);
	CHECK_EQ(cli_abspath("../missing/..", out, sizeof(out)), -1);
	CHECK_EQ(cli_abspath("", out, sizeof(out)), -1);
	CHECK_EQ(cli_abspath("/abc/def", out, 5), -1);
	CHECK_EQ(chdir(old), 0);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	CHECK_EQ(system(p), 0);
}

/* -p specs: parsed before any request; one usage line naming the bad part; bodies carry the
 * defaults for POST and only what the user named for DELETE. */
TEST(port_specs_and_bodies)
{
	struct cli_ports l = {0};
	char *dump;
	json_t *b;

	CHECK_EQ(cli_ports_add(&l, "ports", "3000", false), 0);
	CHECK_EQ(cli_ports_add(&l, "ports", "0.0.0.0:8080:80/udp", false), 0);
	CHECK_EQ(cli_ports_add(&l, "ports", "8080:3000", true), 0);
	CHECK_EQ(cli_ports_add(&l, "ports", "[::1]::3000", true), 0);
	CHECK_EQ(l.n, 4);
	CHECK(!l.unpublish[0] && !l.unpublish[1] && l.unpublish[2] && l.unpublish[3]);

	b = cli_port_body(&l.spec[0], false);
	dump = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(dump, "{\"host_ip\":\"127.0.0.1\",\"host_port\":0,\"protocol\":\"tcp\","
			"\"sandbox_port\":3000}");
	free(dump);
	json_decref(b);
	b = cli_port_body(&l.spec[1], false);
	dump = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(dump, "{\"host_ip\":\"0.0.0.0\",\"host_port\":8080,\"protocol\":\"udp\","
			"\"sandbox_port\":80}");
	free(dump);
	json_decref(b);
	b = cli_port_body(&l.spec[2], true); /* host port named, address not */
	dump = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(dump, "{\"host_port\":8080,\"protocol\":\"tcp\",\"sandbox_port\":3000}");
	free(dump);
	json_decref(b);
	b = cli_port_body(&l.spec[3], true); /* address named, port not */
	dump = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(dump, "{\"host_ip\":\"::1\",\"protocol\":\"tcp\",\"sandbox_port\":3000}");
	free(dump);
	json_decref(b);
	b = cli_port_body(&l.spec[0], true); /* bare port: every publication of it */
	dump = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	CHECK_STR(dump, "{\"protocol\":\"tcp\",\"sandbox_port\":3000}");
	free(dump);
	json_decref(b);

	err_begin();
	CHECK_EQ(cli_ports_add(&l, "ports", "80x", false), 1);
	CHECK_STR(err_end(), "sbx: ports: port spec 80x: sandbox port \"80x\" is not a number "
			     "from 1 to 65535 (see sbx ports --help)\n");
	err_begin();
	CHECK_EQ(cli_ports_add(&l, "run", "8080:3000/sctp", false), 1);
	CHECK_STR(err_end(), "sbx: run: port spec 8080:3000/sctp: protocol \"sctp\" is not tcp or "
			     "udp (see sbx run --help)\n");
	err_begin();
	CHECK_EQ(cli_ports_add(&l, "ports", "1.2.3:80:80", false), 1);
	CHECK(strstr(err_end(), "host address \"1.2.3\" is not an IP address") != NULL);
	CHECK_EQ(l.n, 4); /* nothing appended on failure */
	while (l.n < CLI_PORTS_MAX)
		CHECK_EQ(cli_ports_add(&l, "create", "22", false), 0);
	err_begin();
	CHECK_EQ(cli_ports_add(&l, "create", "23", false), 1);
	CHECK(strstr(err_end(), "too many port specs at '23'") != NULL);
	CHECK_EQ(l.n, CLI_PORTS_MAX);
}

/* Publications from sbxd: every field checked, shown as "ip:port->port/proto". */
TEST(port_objects_from_sbxd)
{
	char out[128];
	struct port_spec s;
	bool active;
	json_t *o;

	o = json_loads("{\"host_ip\":\"127.0.0.1\",\"host_port\":49152,\"sandbox_port\":3000,"
		       "\"protocol\":\"tcp\",\"ephemeral\":true,\"active\":true}",
		       0, NULL);
	CHECK_EQ(cli_port_from_json(o, &s, &active), 0);
	CHECK(active);
	CHECK_EQ(s.host_port, 49152);
	CHECK_EQ(s.sandbox_port, 3000);
	CHECK_STR(cli_port_text(o, false, out, sizeof(out)), "127.0.0.1:49152->3000/tcp");
	CHECK_STR(cli_port_text(o, true, out, sizeof(out)), "127.0.0.1:49152 -> 3000/tcp");
	json_decref(o);

	o = json_loads("{\"host_ip\":\"::1\",\"host_port\":0,\"sandbox_port\":53,"
		       "\"protocol\":\"udp\",\"active\":false}",
		       0, NULL);
	CHECK_EQ(cli_port_from_json(o, &s, &active), 0);
	CHECK(!active);
	CHECK_STR(cli_port_text(o, true, out, sizeof(out)), "[::1]:<ephemeral> -> 53/udp");
	CHECK_STR(cli_port_text(o, false, out, sizeof(out)), "[::1]:<ephemeral>->53/udp");
	json_decref(o);

	o = json_loads("{\"host_ip\":\"0.0.0.0\",\"host_port\":0,\"sandbox_port\":8,"
		       "\"protocol\":\"tcp\"}",
		       0, NULL);
	CHECK_STR(cli_port_text(o, false, out, sizeof(out)), "0.0.0.0:<ephemeral>->8/tcp");
	CHECK_EQ(cli_port_from_json(o, &s, &active), 0);
	CHECK(active); /* absent: active */
	json_decref(o);

	static const char *const bad[] = {
	    "[]",
	    "{\"host_port\":1,\"sandbox_port\":1,\"protocol\":\"tcp\"}",
	    "{\"host_ip\":\"x\",\"host_port\":1,\"sandbox_port\":1,\"protocol\":\"tcp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":65536,\"sandbox_port\":1,\"protocol\":"
	    "\"tcp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":-1,\"sandbox_port\":1,\"protocol\":\"tcp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":1,\"sandbox_port\":0,\"protocol\":\"tcp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":1,\"sandbox_port\":\"1\",\"protocol\":"
	    "\"tcp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":1,\"sandbox_port\":1,\"protocol\":\"sctp\"}",
	    "{\"host_ip\":\"127.0.0.1\",\"host_port\":1,\"sandbox_port\":1}",
	    "{\"host_ip\":\"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc\","
	    "\"host_port\":1,\"sandbox_port\":1,\"protocol\":\"tcp\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_loads(bad[i], 0, NULL);
		CHECK(o != NULL);
		CHECK_EQ(cli_port_from_json(o, &s, &active), -1);
		CHECK(cli_port_text(o, false, out, sizeof(out)) == NULL);
		json_decref(o);
	}
	CHECK_EQ(cli_port_from_json(NULL, &s, &active), -1);
}

/* The PORTS cell of sbx ls: comma-separated, malformed entries skipped, bounded. */
TEST(ports_cell)
{
	json_t *a =
	    json_loads("[{\"host_ip\":\"127.0.0.1\",\"host_port\":49152,\"sandbox_port\":3000,"
		       "\"protocol\":\"tcp\"}, 7, {\"host_ip\":\"0.0.0.0\",\"host_port\":5353,"
		       "\"sandbox_port\":53,\"protocol\":\"udp\"}]",
		       0, NULL);
	char *t = cli_ports_list_text(a);

	CHECK_STR(t, "127.0.0.1:49152->3000/tcp, 0.0.0.0:5353->53/udp");
	free(t);
	json_decref(a);
	t = cli_ports_list_text(NULL);
	CHECK_STR(t, "");
	free(t);

	a = json_array();
	for (int i = 0; i < 200; i++)
		json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:s}", "host_ip", "127.0.0.1",
						   "host_port", 10000 + i, "sandbox_port", 3000,
						   "protocol", "tcp"));
	t = cli_ports_list_text(a);
	CHECK(strlen(t) < 1024);
	CHECK(strncmp(t, "127.0.0.1:10000->3000/tcp, 127.0.0.1:10001->3000/tcp, ", 54) == 0);
	CHECK(strlen(t) > 5 && strcmp(t + strlen(t) - 5, ", ...") == 0);
	free(t);
	json_decref(a);
}

int main(void)
{
	sbx_prog = "sbx";
	RUN(exec_flags_stop_at_name);
	RUN(exec_env_from_local);
	RUN(exec_errors);
	RUN(exec_help);
	RUN(interspersed_flags_and_dashdash);
	RUN(flag_value_errors);
	RUN(memory_sizes);
	RUN(cpu_counts);
	RUN(names);
	RUN(table_alignment);
	RUN(mount_args);
	RUN(abspath_keeps_symlinks);
	RUN(http_content_length);
	RUN(http_chunked);
	RUN(http_malformed);
	RUN(port_specs_and_bodies);
	RUN(port_objects_from_sbxd);
	RUN(ports_cell);
	T_EXIT();
}
