/* fuzz-common.h: what every libFuzzer target shares. */
#pragma once

#include "us-translate.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* In fuzz-common.c: criticals fatal (those are our bugs), chatter quiet,
 * and one-time library setup done before any input is measured. */
int LLVMFuzzerInitialize (int *argc, char ***argv);
