/* SPDX-License-Identifier: MIT */
/*
 * The metrics renderer (lib/metrics.c): `tierctl metrics` renders whatever
 * status a daemon sends, so the input is any JSON text (a status object
 * when it parses as one).  Properties of the exposition: every line is a
 * "# HELP tierd_", "# TYPE tierd_" or "tierd_" sample line, ends with '\n',
 * and holds no other control character (label values are escaped); the
 * length returned is the string's.
 */
#include "fuzz.h"

#include <string.h>
#include <json-c/json.h>

#include <tier/metrics.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *st = tok ? json_tokener_parse_ex(tok, text, (int)strlen(text)) : NULL;
	if (tok)
		json_tokener_free(tok);
	size_t len = 0;
	char *out = tier_metrics_render(st, &len);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(strlen(out) == len);
	size_t lines = 0;
	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		FUZZ_CHECK(nl != NULL);
		FUZZ_CHECK(!strncmp(p, "# HELP tierd_", 13) || !strncmp(p, "# TYPE tierd_", 13) ||
			   !strncmp(p, "tierd_", 6));
		for (const char *c = p; c < nl; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 || *c == '\t');
		p = nl + 1;
		lines++;
	}
	fuzz_note("  %s: %zu lines", st ? json_object_get_type(st) == json_type_object ? "object" : "not an object"
					: "not JSON", lines);
	free(out);
	json_object_put(st);
	free(text);
	return 0;
}
