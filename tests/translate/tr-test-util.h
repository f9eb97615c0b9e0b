/* tr-test-util.h: fixtures and stream drivers shared by the translate tests. */
#pragma once

#include "us-translate.h"

G_BEGIN_DECLS

/* Contents of tests/translate/data/@name (aborts if missing). */
char      *tr_load       (const char *name, gsize *len);
JsonNode  *tr_load_json  (const char *name);
/* The "body" member of a capture in data/. */
JsonNode  *tr_load_capture_body (const char *name);

/* Runs @input through a fresh translator in two pushes cut at @split, then
 * finish(); returns the client bytes. */
char      *tr_stream_split (UsWireFormat from, UsWireFormat to,
                            const char *input, gsize len, gsize split,
                            UsStreamTranslator **keep);
/* Zeroes timestamps ("created", "created_at"), which change between runs. */
char      *tr_normalise (const char *text);
/* Asserts that every split point gives the same output as one push, and
 * returns that output, normalised. */
char      *tr_stream_all_splits (UsWireFormat from, UsWireFormat to,
                                 const char *input);

/* Serialises with sorted-free pretty printing off: the exact wire text. */
char      *tr_json_compact (JsonNode *node);

/* Fails, leaving both in /tmp/tr-{in,out}.json, unless equal. */
void       tr_assert_json_equal (JsonNode *expected, JsonNode *got, const char *what);

G_END_DECLS
