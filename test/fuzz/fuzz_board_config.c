// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the board-file loader: any text either loads into
 * a board that is freed again, or fails with a located message. Host
 * checks are off, so the fuzzer never depends on what /dev holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "board_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 leaks its string buffer on some syntax errors; that is
 * its bug, not the loader's: ignore leaks allocated inside libconfig.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct board_config_opts opts = {.runtime_dir = "/run/vb"};
	struct board_config *b = NULL;
	char err[256];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (board_config_load_string(&b, text, "<fuzz>", &opts, err,
				     sizeof(err)) == 0) {
		/* Touch what the board glue reads. */
		for (unsigned g = 0; g < b->nguests; g++)
			for (unsigned d = 0; d < b->guests[g].ndevices; d++)
				(void)strlen(b->guests[g].devices[d].name);
		board_config_free(b);
	} else if (strlen(err) == 0) {
		abort(); /* every failure explains itself */
	}
	free(text);
	return 0;
}
