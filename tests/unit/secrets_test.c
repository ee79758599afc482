/* Unit tests for src/daemon/secrets/: the service table (names, hosts, headers), and the
 * secret store on a temporary directory: round trip, file mode 0600, atomic rewrite, scope
 * precedence, lookup by host, custom placeholders, refused values, reload and removal. */
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"
#include "t.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/sbx-secrets-test-XXXXXX";
static char path[300];
static char err[1024];

static struct secret_store *open_fresh(void)
{
	struct secret_store *s = NULL;
	unlink(path);
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), 0);
	return s;
}

static int set_svc(struct secret_store *s, const char *name, const char *scope, const char *v)
{
	struct secret_spec sp = {.kind = SECRET_SERVICE, .name = name, .scope = scope, .value = v};
	return secret_store_set(s, &sp, NULL, NULL, err, sizeof(err));
}

static char *slurp(const char *p)
{
	static char buf[65536];
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Files in @dir other than "." and "..". */
static int count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

TEST(services_table)
{
	const struct secret_service *a = secret_service_find("anthropic");
	char names[256];

	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_STR(a->hosts[0], "api.anthropic.com");
	CHECK_STR(a->header, "x-api-key");
	CHECK_STR(a->prefix, "");
	CHECK_STR(a->env[0], "ANTHROPIC_API_KEY");
	CHECK_STR(secret_service_find("openai")->prefix, "Bearer ");
	CHECK_STR(secret_service_find("google")->header, "x-goog-api-key");
	CHECK(secret_service_by_host("api.github.com") == secret_service_find("github"));
	CHECK(secret_service_by_host("github.com") == secret_service_find("github"));
	CHECK(secret_service_by_host("API.OpenAI.com.") == secret_service_find("openai"));
	CHECK(secret_service_by_host("evil-api.openai.com") == NULL);
	CHECK(secret_service_by_host("openai.com") == NULL);
	CHECK(secret_service_find("nope") == NULL);
	CHECK(secret_service_count() >= 8);
	secret_service_names(names, sizeof(names));
	CHECK(strncmp(names, "anthropic, openai, github, google", 33) == 0);
}

TEST(validators)
{
	char big[SECRET_VALUE_MAX + 2];

	CHECK(secret_value_valid("sk-ant-abc123"));
	CHECK(!secret_value_valid(""));
	CHECK(!secret_value_valid("a\nb"));
	CHECK(!secret_value_valid("a\rb"));
	CHECK(!secret_value_valid("tab\there"));
	CHECK(!secret_value_valid(" lead"));
	CHECK(!secret_value_valid("trail "));
	CHECK(!secret_value_valid("del\x7f"));
	CHECK(!secret_value_valid("utf8-\xc3\xa9"));
	memset(big, 'k', SECRET_VALUE_MAX);
	big[SECRET_VALUE_MAX] = '\0';
	CHECK(secret_value_valid(big));
	big[SECRET_VALUE_MAX] = 'k';
	big[SECRET_VALUE_MAX + 1] = '\0';
	CHECK(!secret_value_valid(big));
	CHECK(secret_host_valid("api.example.com"));
	CHECK(!secret_host_valid("a..b"));
	CHECK(!secret_host_valid("-a.com"));
	CHECK(!secret_host_valid("1.2.3.4"));
	CHECK(!secret_host_valid("a.com:443"));
	CHECK(secret_env_valid("MY_KEY2"));
	CHECK(!secret_env_valid("2KEY"));
	CHECK(!secret_env_valid("A-B"));
	CHECK(secret_name_valid("my.key-1"));
	CHECK(!secret_name_valid("My"));
	CHECK(!secret_name_valid("-x"));
}

TEST(round_trip_and_mode)
{
	struct secret_store *s = open_fresh(), *s2 = NULL;
	struct secret_info *all;
	struct stat st;
	size_t n;
	char v[SECRET_VALUE_MAX + 1];

	CHECK_EQ(set_svc(s, "anthropic", NULL, "sk-ant-global"), 0);
	CHECK_EQ(set_svc(s, "openai", "sb1", "sk-openai-sb1"), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK(strstr(slurp(path), "sk-ant-global") != NULL);
	CHECK_EQ(count_files(), 1); /* no temp file left behind */
	CHECK_EQ(secret_store_list(s, &all, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_STR(all[0].name, "anthropic");
	CHECK_STR(all[0].scope, "");
	CHECK_STR(all[1].scope, "sb1");
	CHECK(all[0].created_at > 0);
	free(all);
	secret_store_close(s);

	/* reload from the file */
	CHECK_EQ(secret_store_open(path, &s2, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_list(s2, &all, &n), 0);
	CHECK_EQ(n, 2);
	free(all);
	CHECK_EQ(secret_store_find(s2, "sb1", INT64_MAX, "api.openai.com", NULL, v, sizeof(v)), 0);
	CHECK_STR(v, "sk-openai-sb1");
	CHECK_EQ(secret_store_find(s2, "sb2", INT64_MAX, "api.openai.com", NULL, v, sizeof(v)), 1);
	CHECK_EQ(secret_store_find(s2, NULL, INT64_MAX, "api.anthropic.com", NULL, v, sizeof(v)),
		 0);
	CHECK_STR(v, "sk-ant-global");
	CHECK_EQ(secret_store_find(s2, NULL, INT64_MAX, "api.anthropic.com", NULL, v, 10), -1);
	secret_store_close(s2);
}

TEST(atomic_rewrite_and_replace)
{
	struct secret_store *s = open_fresh();
	struct secret_info *all;
	struct stat a, b;
	bool replaced = true;
	size_t n;
	char v[SECRET_VALUE_MAX + 1];
	struct secret_spec sp = {.kind = SECRET_SERVICE, .name = "github", .value = "ghp_one"};

	CHECK_EQ(secret_store_set(s, &sp, NULL, &replaced, err, sizeof(err)), 0);
	CHECK(!replaced);
	CHECK_EQ(stat(path, &a), 0);
	sp.value = "ghp_two";
	CHECK_EQ(secret_store_set(s, &sp, NULL, &replaced, err, sizeof(err)), 0);
	CHECK(replaced);
	CHECK_EQ(stat(path, &b), 0);
	CHECK(a.st_ino != b.st_ino); /* a new file renamed over the old one */
	CHECK_EQ(b.st_mode & 0777, 0600);
	CHECK(strstr(slurp(path), "ghp_one") == NULL);
	CHECK(strstr(slurp(path), "ghp_two") != NULL);
	CHECK_EQ(count_files(), 1);
	CHECK_EQ(secret_store_list(s, &all, &n), 0);
	CHECK_EQ(n, 1);
	free(all);
	/* github's two hosts */
	CHECK_EQ(secret_store_find(s, NULL, INT64_MAX, "api.github.com", NULL, v, sizeof(v)), 0);
	CHECK_STR(v, "ghp_two");
	CHECK_EQ(secret_store_find(s, "any", INT64_MAX, "github.com", NULL, v, sizeof(v)), 0);
	CHECK_STR(v, "ghp_two");
	CHECK_EQ(secret_store_find(s, NULL, INT64_MAX, "gist.github.com", NULL, v, sizeof(v)), 1);

	/* a failed write leaves memory and file as they were */
	chmod(dir, 0500);
	if (access(dir, W_OK) != 0) { /* not root */
		sp.value = "ghp_three";
		CHECK_EQ(secret_store_set(s, &sp, NULL, NULL, err, sizeof(err)), 500);
		CHECK_EQ(secret_store_find(s, NULL, INT64_MAX, "github.com", NULL, v, sizeof(v)),
			 0);
		CHECK_STR(v, "ghp_two");
	}
	chmod(dir, 0700);
	secret_store_close(s);
}

TEST(sandbox_beats_global)
{
	struct secret_store *s = open_fresh();
	struct secret_info info;
	char v[SECRET_VALUE_MAX + 1];

	CHECK_EQ(set_svc(s, "anthropic", "sb1", "key-sb1"), 0); /* set first: order is no help */
	CHECK_EQ(set_svc(s, "anthropic", "", "key-global"), 0);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", &info, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-sb1");
	CHECK_STR(info.scope, "sb1");
	CHECK_EQ(secret_store_find(s, "sb2", INT64_MAX, "api.anthropic.com", &info, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-global");
	CHECK_EQ(secret_store_find(s, NULL, INT64_MAX, "api.anthropic.com", NULL, v, sizeof(v)), 0);
	CHECK_STR(v, "key-global");
	/* removing a sandbox's secrets leaves the global one */
	CHECK_EQ(secret_store_remove_scope(s, "sb1", err, sizeof(err)), 1);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", NULL, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-global");
	CHECK_EQ(secret_store_remove(s, "anthropic", "sb1", err, sizeof(err)), 1);
	CHECK_EQ(secret_store_remove(s, "anthropic", NULL, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", NULL, v, sizeof(v)),
		 1);
	CHECK(strstr(slurp(path), "key-global") == NULL);
	secret_store_close(s);
}

TEST(custom_placeholders)
{
	struct secret_store *s = open_fresh(), *s2 = NULL;
	struct secret_info a, b, c, info;
	char v[SECRET_VALUE_MAX + 1];
	struct secret_spec sp = {.kind = SECRET_CUSTOM,
				 .host = "API.Example.com",
				 .env = "EXAMPLE_KEY",
				 .value = "ex-1"};

	CHECK_EQ(secret_store_set(s, &sp, &a, NULL, err, sizeof(err)), 0);
	CHECK_STR(a.name, "api.example.com"); /* derived from the host */
	CHECK_STR(a.host, "api.example.com");
	CHECK_EQ(strlen(a.placeholder), 39);
	CHECK(strncmp(a.placeholder, "sbx-ph-", 7) == 0);
	CHECK_EQ(strspn(a.placeholder + 7, "0123456789abcdef"), 32);
	sp.name = "other";
	CHECK_EQ(secret_store_set(s, &sp, &b, NULL, err, sizeof(err)), 0);
	CHECK(strcmp(a.placeholder, b.placeholder) != 0);
	/* replacing keeps the placeholder the guest already has */
	sp.value = "ex-2";
	CHECK_EQ(secret_store_set(s, &sp, &c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.placeholder, b.placeholder);
	CHECK_EQ(secret_store_find(s, "x", INT64_MAX, "api.example.com", &info, v, sizeof(v)), 0);
	CHECK_EQ(info.kind, SECRET_CUSTOM);
	CHECK_STR(info.env, "EXAMPLE_KEY");
	secret_store_close(s);
	CHECK_EQ(secret_store_open(path, &s2, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_find(s2, NULL, INT64_MAX, "api.example.com", &info, v, sizeof(v)), 0);
	CHECK(strcmp(info.placeholder, a.placeholder) == 0 ||
	      strcmp(info.placeholder, b.placeholder) == 0);
	/* a custom secret may not take a service's name */
	sp.name = "openai";
	CHECK_EQ(secret_store_set(s2, &sp, NULL, NULL, err, sizeof(err)), 400);
	secret_store_close(s2);
}

TEST(bad_input_refused)
{
	struct secret_store *s = open_fresh();
	struct secret_info *all;
	size_t n;
	struct secret_spec sp = {.kind = SECRET_CUSTOM, .host = "h.example", .env = "K"};

	CHECK_EQ(set_svc(s, "anthropic", NULL, "line1\nline2"), 400);
	CHECK(strstr(err, "line1") == NULL); /* the value is never quoted */
	CHECK_EQ(set_svc(s, "anthropic", NULL, ""), 400);
	CHECK_EQ(set_svc(s, "nosuch", NULL, "v"), 400);
	CHECK(strstr(err, "known: anthropic") != NULL);
	CHECK_EQ(set_svc(s, "anthropic", "Bad/Scope", "v"), 400);
	sp.value = "v";
	sp.host = "not a host";
	CHECK_EQ(secret_store_set(s, &sp, NULL, NULL, err, sizeof(err)), 400);
	sp.host = "h.example";
	sp.env = "1BAD";
	CHECK_EQ(secret_store_set(s, &sp, NULL, NULL, err, sizeof(err)), 400);
	CHECK_EQ(secret_store_list(s, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	CHECK_EQ(access(path, F_OK), -1); /* nothing was written */
	secret_store_close(s);
}

TEST(reset_and_bad_file)
{
	struct secret_store *s = open_fresh();
	struct secret_info *all;
	size_t n;

	CHECK_EQ(set_svc(s, "anthropic", NULL, "k1"), 0);
	CHECK_EQ(set_svc(s, "openai", "sb", "k2"), 0);
	CHECK_EQ(secret_store_clear(s, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_list(s, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	CHECK(strstr(slurp(path), "k1") == NULL);
	secret_store_close(s);

	/* a broken file is refused, naming the file, without quoting its contents */
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("{\"version\":1,\"secrets\":[{\"kind\":\"service\",\"name\":\"anthropic\","
		      "\"scope\":\"\",\"value\":\"sk-a\\nb\",\"created_at\":1}]}",
		      f);
		fclose(f);
	}
	s = NULL;
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), -1);
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "sk-a") == NULL);
	/* a readable-by-others file is made 0600 on load */
	f = fopen(path, "w");
	if (f) {
		fputs("{\"version\":1,\"secrets\":[]}", f);
		fclose(f);
	}
	chmod(path, 0644);
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), 0);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	secret_store_close(s);
}

/* A global secret applies to sandboxes created at or after it was set; replacing its value
 * keeps that time (a rotated key reaches the same sandboxes); a sandbox's own applies at once. */
TEST(global_applies_to_later_sandboxes)
{
	struct secret_store *s = open_fresh();
	struct secret_info info;
	char v[SECRET_VALUE_MAX + 1];

	CHECK_EQ(set_svc(s, "anthropic", "", "key-global"), 0);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", &info, v, sizeof(v)),
		 0);
	int64_t set_at = info.created_at;
	CHECK(set_at > 0);
	/* created before the secret: not applied; at the same second or later: applied */
	CHECK_EQ(secret_store_find(s, "old", set_at - 1, "api.anthropic.com", NULL, v, sizeof(v)),
		 1);
	CHECK_EQ(secret_store_find(s, "new", set_at, "api.anthropic.com", NULL, v, sizeof(v)), 0);
	CHECK_STR(v, "key-global");
	CHECK(!secret_applies(&info, "old", set_at - 1));
	CHECK(secret_applies(&info, "new", set_at));
	/* the sandbox's own secret applies whenever it was created */
	CHECK_EQ(set_svc(s, "anthropic", "old", "key-old"), 0);
	CHECK_EQ(secret_store_find(s, "old", set_at - 1, "api.anthropic.com", NULL, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-old");
	/* a replaced global keeps its time */
	sleep(1);
	CHECK_EQ(set_svc(s, "anthropic", "", "key-rotated"), 0);
	CHECK_EQ(secret_store_find(s, "new", set_at, "api.anthropic.com", &info, v, sizeof(v)), 0);
	CHECK_STR(v, "key-rotated");
	CHECK_EQ(info.created_at, set_at);
	secret_store_close(s);
}

/* A key from the host environment (sbx create): the weakest; never replaces a stored one,
 * survives a reload, and is replaced by a key the user sets for that sandbox. */
TEST(host_env_is_weakest)
{
	struct secret_store *s = open_fresh(), *s2 = NULL;
	struct secret_spec env = {.kind = SECRET_SERVICE,
				  .name = "anthropic",
				  .scope = "sb1",
				  .value = "key-env",
				  .from_env = true};
	struct secret_info info;
	bool replaced = true;
	char v[SECRET_VALUE_MAX + 1];

	CHECK_EQ(secret_store_set(s, &env, &info, &replaced, err, sizeof(err)), 0);
	CHECK(info.from_env);
	CHECK(!replaced);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", &info, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-env");
	CHECK(info.from_env);
	/* not for other sandboxes */
	CHECK_EQ(secret_store_find(s, "sb2", INT64_MAX, "api.anthropic.com", NULL, v, sizeof(v)),
		 1);
	/* a global one applying to sb1 beats it; one set after sb1 was made does not apply */
	CHECK_EQ(set_svc(s, "anthropic", "", "key-global"), 0);
	CHECK_EQ(secret_store_find(s, "sb1", INT64_MAX, "api.anthropic.com", &info, v, sizeof(v)),
		 0);
	CHECK_STR(v, "key-global");
	CHECK_EQ(secret_store_find(s, "sb1", 1, "api.anthropic.com", &info, v, sizeof(v)), 0);
	CHECK_STR(v, "key-env");
	/* reload keeps the source */
	CHECK(strstr(slurp(path), "\"source\":\"env\"") != NULL ||
	      strstr(slurp(path), "\"source\": \"env\"") != NULL);
	CHECK_EQ(secret_store_open(path, &s2, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_find(s2, "sb1", 1, "api.anthropic.com", &info, v, sizeof(v)), 0);
	CHECK(info.from_env);
	secret_store_close(s2);
	/* the user's own key replaces it, and a later env key does not replace the user's */
	CHECK_EQ(set_svc(s, "anthropic", "sb1", "key-user"), 0);
	env.value = "key-env2";
	CHECK_EQ(secret_store_set(s, &env, &info, &replaced, err, sizeof(err)), 0);
	CHECK(!info.from_env);
	CHECK(!replaced);
	CHECK_EQ(secret_store_find(s, "sb1", 1, "api.anthropic.com", &info, v, sizeof(v)), 0);
	CHECK_STR(v, "key-user");
	/* only a service's key, only for a sandbox */
	env.scope = "";
	CHECK_EQ(secret_store_set(s, &env, NULL, NULL, err, sizeof(err)), 400);
	env.scope = "sb3";
	env.kind = SECRET_CUSTOM;
	env.host = "api.example.com";
	env.env = "EX";
	CHECK_EQ(secret_store_set(s, &env, NULL, NULL, err, sizeof(err)), 400);
	secret_store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/secrets.json", dir);
	RUN(services_table);
	RUN(validators);
	RUN(round_trip_and_mode);
	RUN(atomic_rewrite_and_replace);
	RUN(sandbox_beats_global);
	RUN(global_applies_to_later_sandboxes);
	RUN(host_env_is_weakest);
	RUN(custom_placeholders);
	RUN(bad_input_refused);
	RUN(reset_and_bad_file);
	unlink(path);
	rmdir(dir);
	T_EXIT();
}
