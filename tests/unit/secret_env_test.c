/* Unit tests for the guest-side environment of secrets: secret_env_compute() (sentinels for
 * services, placeholders for custom secrets, scope and kind precedence), secret_env_json()
 * over a real store (never a value), and the CLI's merge under -e (cli_secret_env_merge). */
#include "cli/secret_env.h"
#include "cli/secret_hostenv.h"
#include "daemon/secrets/env.h"
#include "daemon/secrets/services.h"
#include "daemon/secrets/store.h"
#include "t.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct secret_info svc(const char *name, const char *scope)
{
	struct secret_info i = {.kind = SECRET_SERVICE};
	snprintf(i.name, sizeof(i.name), "%s", name);
	snprintf(i.scope, sizeof(i.scope), "%s", scope);
	return i;
}

static struct secret_info custom(const char *scope, const char *env, const char *ph)
{
	struct secret_info i = {.kind = SECRET_CUSTOM};
	snprintf(i.name, sizeof(i.name), "c-%s", env);
	snprintf(i.scope, sizeof(i.scope), "%s", scope);
	snprintf(i.host, sizeof(i.host), "api.example.test");
	snprintf(i.env, sizeof(i.env), "%s", env);
	snprintf(i.placeholder, sizeof(i.placeholder), "%s", ph);
	return i;
}

/* The value of @name in @v (@n of them), or NULL. */
static const char *get(const struct secret_env_var *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}

TEST(services_get_sentinel)
{
	struct secret_info l[] = {svc("anthropic", ""), svc("github", "box1")};
	struct secret_env_var v[8];
	size_t n = secret_env_compute(l, 2, "box1", INT64_MAX, v, 8);
	CHECK_EQ(n, 3);
	CHECK_STR(get(v, n, "ANTHROPIC_API_KEY"), "proxy-managed");
	CHECK_STR(get(v, n, "GH_TOKEN"), "proxy-managed");
	CHECK_STR(get(v, n, "GITHUB_TOKEN"), "proxy-managed");
	/* another sandbox sees only the global one */
	n = secret_env_compute(l, 2, "box2", INT64_MAX, v, 8);
	CHECK_EQ(n, 1);
	CHECK_STR(v[0].name, "ANTHROPIC_API_KEY");
	CHECK(get(v, n, "GH_TOKEN") == NULL);
	/* no sandbox: globals only */
	n = secret_env_compute(l, 2, NULL, INT64_MAX, v, 8);
	CHECK_EQ(n, 1);
	/* unknown service names give nothing */
	struct secret_info bad = svc("nosuch", "");
	CHECK_EQ(secret_env_compute(&bad, 1, "box1", INT64_MAX, v, 8), 0);
}

TEST(custom_gets_placeholder)
{
	struct secret_info l[] = {custom("", "EXAMPLE_TOKEN", "sbx-ph-aaaa"),
				  custom("other", "OTHER_TOKEN", "sbx-ph-bbbb")};
	struct secret_env_var v[8];
	size_t n = secret_env_compute(l, 2, "box1", INT64_MAX, v, 8);
	CHECK_EQ(n, 1);
	CHECK_STR(get(v, n, "EXAMPLE_TOKEN"), "sbx-ph-aaaa");
	n = secret_env_compute(l, 2, "other", INT64_MAX, v, 8);
	CHECK_EQ(n, 2);
	CHECK_STR(get(v, n, "OTHER_TOKEN"), "sbx-ph-bbbb");
}

TEST(precedence_and_bounds)
{
	/* own beats global; service beats custom within a scope; order of list irrelevant */
	struct secret_info l[] = {custom("box1", "ANTHROPIC_API_KEY", "sbx-ph-own"),
				  svc("anthropic", ""), custom("", "X_TOKEN", "sbx-ph-global"),
				  custom("box1", "X_TOKEN", "sbx-ph-mine")};
	struct secret_env_var v[8];
	size_t n = secret_env_compute(l, 4, "box1", INT64_MAX, v, 8);
	CHECK_EQ(n, 2);
	CHECK_STR(get(v, n, "ANTHROPIC_API_KEY"), "sbx-ph-own");
	CHECK_STR(get(v, n, "X_TOKEN"), "sbx-ph-mine");
	n = secret_env_compute(l, 4, "box2", INT64_MAX, v, 8);
	CHECK_STR(get(v, n, "ANTHROPIC_API_KEY"), "proxy-managed");
	CHECK_STR(get(v, n, "X_TOKEN"), "sbx-ph-global");
	/* own service beats own custom of the same variable */
	struct secret_info m[] = {svc("openai", "box1"), custom("box1", "OPENAI_API_KEY", "p")};
	n = secret_env_compute(m, 2, "box1", INT64_MAX, v, 8);
	CHECK_EQ(n, 1);
	CHECK_STR(v[0].value, "proxy-managed");
	/* never more than max */
	struct secret_info g = svc("github", "");
	CHECK_EQ(secret_env_compute(&g, 1, "box1", INT64_MAX, v, 1), 1);
	CHECK_EQ(secret_env_compute(&g, 1, "box1", INT64_MAX, v, 0), 0);
}

TEST(json_from_store_holds_no_value)
{
	char dir[] = "/tmp/sbx-senv-test-XXXXXX", path[300], err[512];
	struct secret_store *s = NULL;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/secrets.json", dir);
	CHECK_EQ(secret_store_open(path, &s, err, sizeof(err)), 0);
	struct secret_spec a = {
	    .kind = SECRET_SERVICE, .name = "anthropic", .value = "sk-ant-REALKEY-0123456789"};
	struct secret_spec c = {.kind = SECRET_CUSTOM,
				.host = "api.example.test",
				.env = "EXAMPLE_TOKEN",
				.scope = "box1",
				.value = "custom-REALVALUE-42"};
	struct secret_info ci;
	CHECK_EQ(secret_store_set(s, &a, NULL, NULL, err, sizeof(err)), 0);
	CHECK_EQ(secret_store_set(s, &c, &ci, NULL, err, sizeof(err)), 0);

	json_t *j = secret_env_json(s, "box1", INT64_MAX);
	CHECK(json_is_object(j));
	CHECK_EQ(json_object_size(j), 2);
	CHECK_STR(json_string_value(json_object_get(j, "ANTHROPIC_API_KEY")), "proxy-managed");
	CHECK_STR(json_string_value(json_object_get(j, "EXAMPLE_TOKEN")), ci.placeholder);
	CHECK(strncmp(ci.placeholder, "sbx-ph-", 7) == 0);
	char *dump = json_dumps(j, 0);
	CHECK(dump && !strstr(dump, "REALKEY") && !strstr(dump, "REALVALUE"));
	free(dump);
	json_decref(j);

	j = secret_env_json(s, "box2", INT64_MAX);
	CHECK_EQ(json_object_size(j), 1);
	json_decref(j);
	j = secret_env_json(NULL, "box1", INT64_MAX);
	CHECK(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);

	secret_store_close(s);
	unlink(path);
	rmdir(dir);
}

TEST(cli_merge_user_wins)
{
	json_t *sb = json_pack("{s:s,s:{s:s,s:s,s:i,s:s}}", "name", "box1", "secret_env",
			       "ANTHROPIC_API_KEY", "proxy-managed", "EXAMPLE_TOKEN", "sbx-ph-1",
			       "BAD", 3, "A=B", "x");
	char *user[] = {"ANTHROPIC_API_KEY=mine", "FOO=bar", "ANTHROPIC=no"};
	char **env = NULL;
	CHECK_EQ(cli_secret_env_merge(sb, user, 3, &env), 0);
	CHECK(env != NULL);
	size_t n = 0;
	while (env && env[n])
		n++;
	CHECK_EQ(n, 4);
	CHECK_STR(env[0], "ANTHROPIC_API_KEY=mine");
	CHECK_STR(env[1], "FOO=bar");
	CHECK_STR(env[2], "ANTHROPIC=no");
	CHECK_STR(env[3], "EXAMPLE_TOKEN=sbx-ph-1");
	cli_secret_env_free(env);

	/* no -e: the secret env alone */
	CHECK_EQ(cli_secret_env_merge(sb, NULL, 0, &env), 0);
	n = 0;
	while (env && env[n])
		n++;
	CHECK_EQ(n, 2);
	cli_secret_env_free(env);
	json_decref(sb);

	/* nothing at all: NULL, as before secrets existed */
	sb = json_pack("{s:s}", "name", "box1");
	env = (char **)1;
	CHECK_EQ(cli_secret_env_merge(sb, NULL, 0, &env), 0);
	CHECK(env == NULL);
	json_decref(sb);
	cli_secret_env_free(NULL);
}

/* A global secret set after the sandbox was created adds nothing to its environment; one
 * from the host environment counts for its own sandbox only, below a stored custom one. */
TEST(created_after_and_host_env)
{
	struct secret_info l[] = {svc("anthropic", ""), svc("openai", "box1"),
				  custom("box2", "OPENAI_API_KEY", "sbx-ph-1")};
	struct secret_env_var v[8];

	l[0].created_at = 100;
	l[1].from_env = true;
	size_t n = secret_env_compute(l, 3, "box1", 99, v, 8);
	CHECK(get(v, n, "ANTHROPIC_API_KEY") == NULL);
	CHECK_STR(get(v, n, "OPENAI_API_KEY"), "proxy-managed");
	n = secret_env_compute(l, 3, "box1", 100, v, 8);
	CHECK_STR(get(v, n, "ANTHROPIC_API_KEY"), "proxy-managed");
	n = secret_env_compute(l, 3, "box2", 100, v, 8);
	CHECK_STR(get(v, n, "OPENAI_API_KEY"), "sbx-ph-1");
	/* own env-sourced service below a global custom naming the same variable */
	struct secret_info m[] = {svc("openai", "box1"), custom("", "OPENAI_API_KEY", "sbx-ph-2")};
	m[0].from_env = true;
	n = secret_env_compute(m, 2, "box1", INT64_MAX, v, 8);
	CHECK_STR(get(v, n, "OPENAI_API_KEY"), "sbx-ph-2");
}

/* A stand-in environment for cli_host_env_keys(). */
static char *fake_env(const char *name)
{
	static char anth[] = "sk-ant-host", gh1[] = "proxy-managed", gh2[] = "ghp_host",
		    bad[] = "two\nlines", ph[] = "sbx-ph-0123";
	if (strcmp(name, "ANTHROPIC_API_KEY") == 0)
		return anth;
	if (strcmp(name, "GH_TOKEN") == 0) /* a sentinel (inside a sandbox): skipped */
		return gh1;
	if (strcmp(name, "GITHUB_TOKEN") == 0)
		return gh2;
	if (strcmp(name, "OPENAI_API_KEY") == 0)
		return bad;
	if (strcmp(name, "GEMINI_API_KEY") == 0)
		return ph;
	return NULL;
}

/* Which host variables hand sbxd a key: the first usable one per service. */
TEST(host_env_keys)
{
	struct cli_host_key k[16];
	size_t n = cli_host_env_keys(fake_env, k, 16);
	CHECK_EQ(n, 2);
	CHECK_STR(k[0].service, "anthropic");
	CHECK_STR(k[0].var, "ANTHROPIC_API_KEY");
	CHECK_STR(k[0].value, "sk-ant-host");
	CHECK_STR(k[1].service, "github");
	CHECK_STR(k[1].var, "GITHUB_TOKEN");
	CHECK_EQ(cli_host_env_keys(fake_env, k, 1), 1);
}

int main(void)
{
	RUN(services_get_sentinel);
	RUN(custom_gets_placeholder);
	RUN(precedence_and_bounds);
	RUN(created_after_and_host_env);
	RUN(json_from_store_holds_no_value);
	RUN(cli_merge_user_wins);
	RUN(host_env_keys);
	T_EXIT();
}
