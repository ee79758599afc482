/* Unit tests of api_body_object() (src/daemon/api.c) and the four body parsers that use it:
 * the "not a JSON object" 400 messages, one line, and a secret body never quoted. */
#include "common/err.h"
#include "daemon/api.h"
#include "daemon/api_policy.h"
#include "daemon/api_ports.h"
#include "daemon/api_secrets.h"
#include "t.h"

#define BODY(s) s, sizeof(s) - 1

TEST(body_object_plain)
{
	char err[SBX_ERR_MAX];
	json_t *o = api_body_object(BODY("{\"a\":1}"), API_BODY_PLAIN, err, sizeof(err));

	CHECK(json_is_object(o));
	json_decref(o);
	CHECK(api_body_object(BODY("[1]"), API_BODY_PLAIN, err, sizeof(err)) == NULL);
	CHECK_STR(err, "bad request: body is not a JSON object: not an object (see docs/API.md)");
	CHECK(api_body_object(NULL, 0, API_BODY_PLAIN, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, "bad request: body is not a JSON object: ", 40) == 0);
	CHECK(api_body_object(BODY("{\"a\":\n"), API_BODY_PLAIN, err, sizeof(err)) == NULL);
	CHECK(!strchr(err, '\n'));
	/* duplicates: jansson's default keeps the last one */
	o = api_body_object(BODY("{\"a\":1,\"a\":2}"), API_BODY_PLAIN, err, sizeof(err));
	CHECK(json_is_object(o));
	json_decref(o);
}

TEST(body_object_secret)
{
	char err[SBX_ERR_MAX];

	CHECK(api_body_object(BODY("{\"value\":\"sk-1\",\"value\":\"sk-2\"}"), API_BODY_SECRET, err,
			      sizeof(err)) == NULL);
	CHECK_STR(err, "bad request: body is not a JSON object (see docs/API.md)");
	CHECK(api_body_object(BODY("{\"value\":\"sk-secret"), API_BODY_SECRET, err, sizeof(err)) ==
	      NULL);
	CHECK_STR(err, "bad request: body is not a JSON object (see docs/API.md)");
}

TEST(parsers_keep_their_messages)
{
	char err[SBX_ERR_MAX];
	struct sandbox_create_req cr;
	struct api_policy_add_req pr;
	struct api_secret_req sr;
	struct port_spec ps;
	json_t *root;
	const char *want =
	    "bad request: body is not a JSON object: not an object (see docs/API.md)";

	CHECK_EQ(api_create_parse(BODY("[]"), &cr, &root, err), -1);
	CHECK_STR(err, want);
	CHECK_EQ(api_policy_add_parse(BODY("[]"), &pr, &root, err, sizeof(err)), -1);
	CHECK_STR(err, want);
	CHECK_EQ(api_ports_parse(BODY("[]"), &ps, err, sizeof(err)), -1);
	CHECK_STR(err, want);
	CHECK_EQ(api_secret_parse(BODY("[\"sk-x\"]"), false, &sr, &root, err, sizeof(err)), -1);
	CHECK_STR(err, "bad request: body is not a JSON object (see docs/API.md)");
	CHECK_EQ(api_secret_parse(BODY("{\"value\":\"a\",\"value\":\"b\",\"service\":\"openai\"}"),
				  false, &sr, &root, err, sizeof(err)),
		 -1);
	CHECK_STR(err, "bad request: body is not a JSON object (see docs/API.md)");
}

int main(void)
{
	RUN(body_object_plain);
	RUN(body_object_secret);
	RUN(parsers_keep_their_messages);
	T_EXIT();
}
