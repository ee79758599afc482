/* libFuzzer target for api_create_parse(): the POST /v1/sandboxes body parser of sbxd. */
#include "daemon/api.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sandbox_create_req cr;
	char err[SBX_ERR_MAX];
	json_t *root;

	if (api_create_parse((const char *)data, size, &cr, &root, err) == 0) {
		/* every string the parser hands out is NUL-terminated and inside @root */
		if (strlen(cr.agent) + strlen(cr.workspace) + (cr.name ? strlen(cr.name) : 0) +
			(cr.engine ? strlen(cr.engine) : 0) >
		    size + 4)
			__builtin_trap();
		if (cr.memory_mib < 0 || cr.cpus < 0 || cr.n_mounts > STORE_MOUNTS_MAX)
			__builtin_trap();
		for (int i = 0; i < cr.n_mounts; i++)
			if (!cr.mounts[i].path || strlen(cr.mounts[i].path) > size + 4)
				__builtin_trap();
		json_decref(root);
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n')) {
		__builtin_trap();
	}
	return 0;
}
