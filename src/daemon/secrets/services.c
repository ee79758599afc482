/* The known services (see services.h): hosts, auth header and form, and the environment
 * variables agent CLIs read. Only headers the vendors document are listed; never holds a key. */
#include "daemon/secrets/services.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct secret_service services[] = {
    {"anthropic", {"api.anthropic.com"}, "x-api-key", "", {"ANTHROPIC_API_KEY"}},
    {"openai", {"api.openai.com"}, "Authorization", "Bearer ", {"OPENAI_API_KEY"}},
    {"github",
     {"api.github.com", "github.com"},
     "Authorization",
     "Bearer ",
     {"GH_TOKEN", "GITHUB_TOKEN"}},
    {"google",
     {"generativelanguage.googleapis.com"},
     "x-goog-api-key",
     "",
     {"GEMINI_API_KEY", "GOOGLE_API_KEY"}},
    {"groq", {"api.groq.com"}, "Authorization", "Bearer ", {"GROQ_API_KEY"}},
    {"mistral", {"api.mistral.ai"}, "Authorization", "Bearer ", {"MISTRAL_API_KEY"}},
    {"xai", {"api.x.ai"}, "Authorization", "Bearer ", {"XAI_API_KEY"}},
    {"openrouter", {"openrouter.ai"}, "Authorization", "Bearer ", {"OPENROUTER_API_KEY"}},
    {"deepseek", {"api.deepseek.com"}, "Authorization", "Bearer ", {"DEEPSEEK_API_KEY"}},
};

#define N_SERVICES (sizeof(services) / sizeof(services[0]))

size_t secret_service_count(void)
{
	return N_SERVICES;
}

const struct secret_service *secret_service_at(size_t i)
{
	return i < N_SERVICES ? &services[i] : NULL;
}

const struct secret_service *secret_service_find(const char *name)
{
	for (size_t i = 0; name && i < N_SERVICES; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

/* @host equals @want, ignoring case and one trailing dot of @host. */
static int host_eq(const char *host, const char *want)
{
	size_t n = strlen(host), w = strlen(want);
	if (n && host[n - 1] == '.')
		n--;
	return n == w && strncasecmp(host, want, n) == 0;
}

int secret_service_has_host(const struct secret_service *svc, const char *host)
{
	for (size_t j = 0; svc && host && j < SECRET_SERVICE_HOSTS && svc->hosts[j]; j++)
		if (host_eq(host, svc->hosts[j]))
			return 1;
	return 0;
}

const struct secret_service *secret_service_by_host(const char *host)
{
	for (size_t i = 0; host && i < N_SERVICES; i++)
		if (secret_service_has_host(&services[i], host))
			return &services[i];
	return NULL;
}

void secret_service_join(const char *const *list, char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; list[i] && at < len; i++) {
		int n = snprintf(buf + at, len - at, "%s%s", i ? "," : "", list[i]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

void secret_service_names(char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < N_SERVICES && at < len; i++) {
		int n = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", services[i].name);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}
